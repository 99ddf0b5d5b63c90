"""The instrument is data: a site loads its licensed wording as a new version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assessments.instrument import BUNDLED_BPI_SF, definition_errors, read_definition, wording
from assessments.models import Instrument
from assessments.selectors import instrument_current


def test_the_bundled_definition_is_complete_in_english_and_chinese() -> None:
    definition = read_definition(BUNDLED_BPI_SF)
    assert definition_errors(definition) == []
    zh = wording(definition, "zh-hans", "7d")
    assert zh["items"]["worst_pain"]["label"] == "过去7天内最剧烈的疼痛"
    assert zh["items"]["sleep"]["letter"] == "F"


def test_a_site_loads_its_licensed_wording_as_a_new_version(db: None, tmp_path: Path) -> None:
    # given the site's licensed file: same structure, its own wording and version
    definition = read_definition(BUNDLED_BPI_SF)
    definition["version"] = "site-licensed-2026"
    definition["items"][4]["label"]["en"] = "Licensed wording of item 5"
    path = tmp_path / "bpi.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    # and this process has read (and keeps) the bundled version
    assert instrument_current().version != "site-licensed-2026"
    # when it is loaded (twice: the second time does nothing)
    call_command("load_instrument", str(path))
    call_command("load_instrument", str(path))
    # then new responses use it
    assert Instrument.objects.filter(version="site-licensed-2026").count() == 1
    current = instrument_current()
    assert current.version == "site-licensed-2026"
    assert wording(current.definition, "en", "24h")["items"]["average_pain"]["label"] == (
        "Licensed wording of item 5"
    )


def test_a_definition_missing_a_translation_or_an_item_is_refused(db: None, tmp_path: Path) -> None:
    definition = read_definition(BUNDLED_BPI_SF)
    definition["version"] = "broken"
    del definition["items"][2]["label"]["zh-hans"]
    definition["items"].pop()  # item 9
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("load_instrument", str(path))
    assert "'worst_pain' label: no text for language 'zh-hans'" in str(caught.value)
    assert "item 'interference' is missing" in str(caught.value)
    assert not Instrument.objects.filter(version="broken").exists()
