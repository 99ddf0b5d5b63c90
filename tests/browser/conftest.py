"""Chromium through Playwright against pytest-django's live server (PostgreSQL, Redis).

Every page a journey visits goes through ``visit.check``: axe-core must find no serious or
critical violation, and the page is photographed at 360 and 1280 px into ``var/screenshots/``
(``<journey>-<page>-<width>.png``, not committed) for a reviewer to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import Page, ViewportSize

# The live server runs in a thread of this process; Playwright's sync API runs an event loop
# in the test's thread, and Django refuses database calls there unless told it is safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"  # Debian's; `playwright install` cannot download browsers here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE: ViewportSize = {"width": 360, "height": 800}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 15_000
# The innermost elements that reach past the window's right edge (why a page scrolls sideways).
OVERFLOWING = """width => Array.from(document.querySelectorAll("body *"))
  .filter(el => el.getBoundingClientRect().right > width + 1)
  .filter(el => !Array.from(el.children).some(c => c.getBoundingClientRect().right > width + 1))
  .slice(0, 5)
  .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className)"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": PHONE}


@pytest.fixture(autouse=True)
def _page_timeouts(page: Page) -> None:
    page.set_default_timeout(TIMEOUT_MS)


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


class Visit:
    """Checks and photographs each page of a journey."""

    def __init__(self, axe: Axe) -> None:
        self.axe = axe
        self.checked: list[str] = []

    def check(self, page: Page, journey: str, name: str, *, shots: bool = True) -> None:
        """axe-core on the page as it is, then screenshots at both widths (if asked)."""
        page.wait_for_load_state("load")
        results = self.axe.run(page)
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in results.response["violations"]
            if v["impact"] in BLOCKING_IMPACTS
        ]
        assert blocking == [], f"{journey}/{name} at {page.url}:\n" + "\n".join(blocking)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        width = (page.viewport_size or PHONE)["width"]
        if wide > width:
            culprits = page.evaluate(OVERFLOWING, width)
            raise AssertionError(f"{journey}/{name} is {wide} px wide in {width} px: {culprits}")
        self.checked.append(f"{journey}-{name}")
        if shots:
            self.photograph(page, journey, name)

    def photograph(self, page: Page, journey: str, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size or PHONE
        for viewport in (PHONE, DESKTOP):
            page.set_viewport_size(viewport)
            page.wait_for_timeout(150)  # let responsive charts relayout
            page.screenshot(
                path=SCREENSHOTS / f"{journey}-{name}-{viewport['width']}.png", full_page=True
            )
        page.set_viewport_size(size)


@pytest.fixture
def visit(axe: Axe) -> Visit:
    return Visit(axe)


def tab_to(page: Page, selector: str, *, limit: int = 250) -> None:
    """Press Tab (only Tab) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate(
            "s => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")
