"""The apps depend one way, and no lower app reaches a higher one by a back channel.

import-linter checks Python imports (``make lint``); these tests hold the contract itself in
place and check what it cannot see: template tag libraries loaded by templates, and demo hooks.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
# Lowest first; apps on one level may not use one another either.
LAYERS = [
    {"patients"},
    {"assessments"},
    {"adherence"},
    {"followup"},
    {"clinical", "analytics", "interop"},
    {"demo"},
]
LEVEL = {app: level for level, names in enumerate(LAYERS) for app in names}
DOMAIN_APPS = set(LEVEL) - {"demo"}
LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")


def _contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        contracts: list[dict[str, Any]] = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    return contracts


def test_the_layers_contract_is_the_architecture() -> None:
    [layers] = [c for c in _contracts() if c["type"] == "layers"]
    assert layers["layers"] == [
        "demo",
        "clinical : analytics : interop",
        "followup",
        "adherence",
        "assessments",
        "patients",
    ]
    forbidden = [c["forbidden_modules"] for c in _contracts() if c["type"] == "forbidden"]
    assert ["bench"] in forbidden


def test_import_linter_finds_every_contract_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _tag_library_apps() -> dict[str, str]:
    """{template tag library: the app that defines it}."""
    return {
        path.stem: path.parent.parent.name
        for path in ROOT.glob("*/templatetags/*.py")
        if path.stem != "__init__"
    }


def test_no_template_loads_the_tags_of_a_higher_app() -> None:
    libraries = _tag_library_apps()
    assert libraries, "the apps define template tag libraries"
    offences = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        folder = template.relative_to(ROOT / "templates").parts[0]
        own_level = LEVEL.get(folder, -1)  # base.html, admin/, registration/: below every app
        for names in LOAD.findall(template.read_text()):
            for name in names.split():
                app = libraries.get(name)
                if app is None or app == folder:
                    continue
                if LEVEL[app] >= own_level:
                    offences.append(f"{template.relative_to(ROOT)} loads {name} ({app})")
    assert offences == []


def test_the_check_finds_a_higher_app_s_tags() -> None:
    # The rule above can fail: the patient home, were it a patients page, would break it.
    libraries = _tag_library_apps()
    assert LEVEL[libraries["clinical_tags"]] > LEVEL["patients"]


def test_no_domain_app_carries_demo_hooks() -> None:
    for app in sorted(DOMAIN_APPS):
        config = apps.get_app_config(app)
        assert not hasattr(config, "seed_demo"), app
        assert not hasattr(config, "erase_demo"), app
        assert importlib.util.find_spec(f"{app}.demo") is None, app
    assert importlib.util.find_spec("demo.management.commands.seed_demo") is not None
