"""Submitted responses are immutable in the database too, and the bundled BPI-SF is loaded.

On PostgreSQL a trigger refuses every UPDATE of a response (corrections are new rows); DELETE
stays possible for erasing a demo database. The bundled definition (structure and short labels,
no licensed wording) is loaded so that a fresh installation can take responses at once.
"""

import json
from pathlib import Path

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION assessments_response_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a submitted BPI-SF response is immutable; record a correction instead'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_response_no_update BEFORE UPDATE ON assessments_response
    FOR EACH ROW EXECUTE FUNCTION assessments_response_immutable();
"""
REVERSE = """
DROP TRIGGER IF EXISTS assessments_response_no_update ON assessments_response;
DROP FUNCTION IF EXISTS assessments_response_immutable();
"""
BUNDLED = Path(__file__).resolve().parent.parent / "instruments" / "bpi_sf.json"


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


def load_bundled(apps, schema_editor):
    Instrument = apps.get_model("assessments", "Instrument")
    definition = json.loads(BUNDLED.read_text(encoding="utf-8"))
    Instrument.objects.get_or_create(
        code=definition["code"],
        version=definition["version"],
        defaults={"definition": definition},
    )


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [
        migrations.RunPython(add_trigger, drop_trigger),
        migrations.RunPython(load_bundled, migrations.RunPython.noop),
    ]
