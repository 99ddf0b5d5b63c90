"""Loads the bundled BPI-SF structure whose every recalled item names the recall period, so
choosing "the last 7 days" changes the wording of each item, not only of worst and least pain.
Responses already stored keep the version they were answered on."""

import json
from pathlib import Path

from django.db import migrations

BUNDLED = Path(__file__).resolve().parent.parent / "instruments" / "bpi_sf.json"


def load_bundled(apps, schema_editor):
    Instrument = apps.get_model("assessments", "Instrument")
    definition = json.loads(BUNDLED.read_text(encoding="utf-8"))
    Instrument.objects.get_or_create(
        code=definition["code"],
        version=definition["version"],
        defaults={"definition": definition},
    )


class Migration(migrations.Migration):
    dependencies = [("assessments", "0005_p3_correction_reason_limit")]

    operations = [migrations.RunPython(load_bundled, migrations.RunPython.noop)]
