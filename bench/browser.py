"""``make bench``, browser scenario: the patient's pages on a slow phone, in Chromium.

Starts the server as ``bench/run.py`` does (gunicorn, ``DEBUG`` off, the bench database), gives
a bench patient ten years of weekly questionnaires (the longest history her chart draws), logs
her in with Playwright on ``/usr/bin/chromium`` and opens each of her pages in a fresh context
(nothing cached) under the DevTools protocol's emulation of a mid-range phone on a slow network,
Lighthouse's mobile profile:

- ``Emulation.setCPUThrottlingRate`` rate 4 (4x slower CPU);
- ``Network.emulateNetworkConditions`` "slow 4G": 562.5 ms round trip, 1.6 Mbps down,
  750 kbps up.

Per page it reports the Largest Contentful Paint (``PerformanceObserver``,
``largest-contentful-paint``), the time her chart is first on screen (the first animation frame
in which ``svg.my-chart`` has a size; none on pages without it), First Contentful Paint, and
the JavaScript and all bytes transferred (encoded: gzip as served; ``Network.loadingFinished``).
Goals: LCP < 2500 ms, chart < 2500 ms, JavaScript < 400 KB. Writes its results under
``"browser"`` in the JSON that ``bench/run.py`` wrote (``bench/results/latest.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import StorageState, ViewportSize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    DEFAULT_DB,
    ensure_database,
    free_port,
    gunicorn_command,
    manage,
    server_env,
    wait_for,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"]
PHONE: ViewportSize = {"width": 360, "height": 800}
CPU_SLOWDOWN = 4  # Lighthouse's mobile CPU throttling
# Lighthouse's "slow 4G" (its mobile default): 150 ms RTT x 3.75 = 562.5 ms, 1.6 Mbps down,
# 750 kbps up (DevTools takes bytes per second).
SLOW_4G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
GOALS = {"lcp_ms": 2500, "chart_ms": 2500, "js_kb": 400}
RUNS = 3  # loads per page; the median is reported
USERNAME = "bench-browser-patient"
PASSWORD = "bench-password-2026"  # noqa: S105 (benchmark database only)

_SETUP_CODE = f"""
import datetime as dt, random
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from adherence.models import AdherenceCheckIn, Intervention, InterventionCategory, Measure
from assessments.models import Response
from assessments.selectors import instrument_current
from assessments.summaries import score_summaries_refresh
from bench.management.commands.bench_clinical import _patient, _response
from patients.models import Clinic, Patient, Role, User

@transaction.atomic
def setup():
    if Patient.objects.filter(record_number="BENCH-BROWSER-1").exists():
        return
    clinic, _ = Clinic.objects.get_or_create(
        code="bench-browser", defaults={{"name": "Bench browser clinic"}}
    )
    user = User.objects.create(
        username={USERNAME!r}, role=Role.PATIENT, password=make_password({PASSWORD!r})
    )
    now = timezone.now()
    first = now - dt.timedelta(weeks=519)
    patient = _patient(clinic, 1, "BENCH-BROWSER")
    patient.record_number, patient.user = "BENCH-BROWSER-1", user
    patient.aimss_diagnosis_date = first.date()
    patient.save()
    rng = random.Random(22)
    instrument_id = instrument_current().pk
    Response.objects.bulk_create(
        [_response(patient, user, instrument_id, first + dt.timedelta(weeks=w), rng)
         for w in range(520)]
    )
    score_summaries_refresh(patient_ids=[patient.pk])
    AdherenceCheckIn.objects.bulk_create(
        [AdherenceCheckIn(patient=patient, submitted_at=now - dt.timedelta(weeks=k, hours=1),
                          days_taken_last_7=rng.randint(4, 7)) for k in range(13)]
    )
    Intervention.objects.create(
        patient=patient, category=InterventionCategory.PHYSICAL_THERAPY,
        measure=Measure.EXERCISE, start_date=(now - dt.timedelta(weeks=6)).date(),
    )

setup()
# What autovacuum does soon after a bulk load (as bench_clinical does): planner statistics.
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("VACUUM (ANALYZE)")
"""

# Recorded in the page before any of its own code: the LCP candidates, and the first frame in
# which her chart has a size (an inline SVG is drawn with the first paint that lays it out).
OBSERVE = """
window.__bench = {lcp: null, chart: null};
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) window.__bench.lcp = entry.startTime;
}).observe({type: "largest-contentful-paint", buffered: true});
(function poll() {
  const chart = document.querySelector("svg.my-chart");
  if (chart && chart.getBoundingClientRect().width > 0) {
    window.__bench.chart = performance.now();
    performance.mark("my-chart-drawn");
    return;
  }
  requestAnimationFrame(poll);
})();
"""
READ = """() => ({
  lcp: window.__bench.lcp,
  chart: window.__bench.chart,
  fcp: (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime || null,
  ttfb: performance.getEntriesByType("navigation")[0].responseStart,
})"""


def _pages(base: str, context: Any) -> list[tuple[str, str, str]]:
    """Her pages: (name, path, its shape). Her latest result page is found on her home."""
    import re

    page = context.new_page()
    page.goto(f"{base}/me/")
    html = page.content()
    page.close()
    found = re.search(r'href="(/assessments/\d+/)"', html)
    pages = [
        (name, path, path)
        for name, path in (
            ("home", "/me/"),
            ("summary", "/me/summary/"),
            ("check_in", "/me/check-in/"),
            ("questionnaire", "/assessments/new/"),
            ("profile", "/accounts/profile/"),
        )
    ]
    if found:
        pages.append(("result", found[1], "/assessments/<id>/"))
    # Warm-up, unmeasured: a fresh worker's first request imports most of the application.
    for _name, path, _shape in pages * 2:
        warm = context.new_page()
        warm.goto(base + path)
        warm.close()
    return pages


def _load(browser: Any, state: StorageState, url: str) -> dict[str, Any]:
    """One cold load of ``url`` under the phone's CPU and network."""
    context = browser.new_context(viewport=PHONE, storage_state=state)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    types: dict[str, str] = {}
    sizes = {"js": 0, "all": 0}

    def received(event: dict[str, Any]) -> None:
        types[event["requestId"]] = event.get("type", "")

    def finished(event: dict[str, Any]) -> None:
        size = int(event.get("encodedDataLength", 0))
        sizes["all"] += size
        if types.get(event["requestId"]) == "Script":
            sizes["js"] += size

    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", finished)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.add_init_script(OBSERVE)
    response = page.goto(url, wait_until="load", timeout=120_000)
    page.wait_for_timeout(1000)  # late LCP candidates; the observer keeps the last one
    timings = page.evaluate(READ)
    context.close()
    return {
        "status": response.status if response else None,
        "lcp_ms": timings["lcp"],
        "chart_ms": timings["chart"],
        "fcp_ms": timings["fcp"],
        "ttfb_ms": timings["ttfb"],
        "js_bytes": sizes["js"],
        "bytes": sizes["all"],
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def measure(base: str, runs: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        login = browser.new_context(viewport=PHONE)
        page = login.new_page()
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        state = login.storage_state()
        pages = _pages(base, login)
        login.close()
        results = []
        for name, path, shape in pages:
            loads = [_load(browser, state, base + path) for _ in range(runs)]
            lcp = _median([r["lcp_ms"] for r in loads])
            chart = _median([r["chart_ms"] for r in loads])
            js_kb = round(max(r["js_bytes"] for r in loads) / 1000, 1)
            result = {
                "scenario": f"browser_{name}",
                "path_shape": shape,
                "runs": runs,
                "statuses": sorted({r["status"] for r in loads}),
                "lcp_ms": lcp,
                "chart_ms": chart,
                "fcp_ms": _median([r["fcp_ms"] for r in loads]),
                "ttfb_ms": _median([r["ttfb_ms"] for r in loads]),
                "js_kb_transferred": js_kb,
                "kb_transferred": round(max(r["bytes"] for r in loads) / 1000, 1),
                "goal": {
                    "lcp_ms": GOALS["lcp_ms"],
                    "chart_ms": GOALS["chart_ms"] if chart is not None else None,
                    "js_kb": GOALS["js_kb"],
                    "met": lcp is not None
                    and lcp < GOALS["lcp_ms"]
                    and (chart is None or chart < GOALS["chart_ms"])
                    and js_kb < GOALS["js_kb"],
                },
            }
            results.append(result)
            print(
                f"{result['scenario']:<24} TTFB {result['ttfb_ms']} ms  LCP {lcp} ms  "
                f"chart {chart} ms  "
                f"JS {js_kb} KB  all {result['kb_transferred']} KB",
                flush=True,
            )
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_BROWSER_RUNS", RUNS)))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    # One phone, one worker: the warm-up then reaches the process that is measured.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    ensure_database(database_url)
    env = server_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "shell", "-c", _SETUP_CODE)

    port = free_port()
    server = subprocess.Popen(gunicorn_command(port, args.workers, args.threads), cwd=ROOT, env=env)
    try:
        wait_for(port)
        results = measure(f"http://127.0.0.1:{port}", args.runs)
    finally:
        server.terminate()
        server.wait(timeout=30)

    out = Path(args.out)
    report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    report["browser"] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": "Playwright + Chromium (headless), 360x800, fresh context per load (no cache), "
        f"CDP CPU throttling x{CPU_SLOWDOWN}, slow 4G (562.5 ms RTT, 1.6 Mbps down, "
        "750 kbps up); median of the runs, largest transfer",
        "results": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(r["goal"]["met"] and r["statuses"] == [200] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
