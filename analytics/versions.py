"""The versions a report's numbers depend on: the app's and its statistics libraries'.

A report records them, and a cached report is reused only when they are the same (a new
lifelines can move an estimate in its last digits; a new app version can change a rule)."""

from __future__ import annotations

import functools
import tomllib
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings

LIBRARIES = ("lifelines", "statsmodels", "scipy")


@functools.cache
def app_version() -> str:
    """The version in ``pyproject.toml`` (the app is run from its source, not installed)."""
    try:
        with (settings.BASE_DIR / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


@functools.cache
def software_versions() -> dict[str, str]:
    """``{"app": ..., "lifelines": ..., "statsmodels": ..., "scipy": ...}``."""
    found = {"app": app_version()}
    for library in LIBRARIES:
        try:
            found[library] = version(library)
        except PackageNotFoundError:
            found[library] = "missing"
    return found
