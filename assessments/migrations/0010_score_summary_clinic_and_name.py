"""Copy each summary's clinic and family name from her record, for the list's index."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_patients(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    ScoreSummary = apps.get_model("assessments", "ScoreSummary")
    record = Patient.objects.filter(pk=OuterRef("patient_id"))
    ScoreSummary.objects.update(
        clinic_id=Subquery(record.values("clinic_id")),
        family_name=Subquery(record.values("family_name")),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0009_merge_20261130_2220"),
        ("patients", "0018_remove_clinic_insert_insert_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="scoresummary",
            name="clinic",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="patients.clinic",
            ),
        ),
        migrations.AddField(
            model_name="scoresummary",
            name="family_name",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.RunPython(copy_from_patients, migrations.RunPython.noop, elidable=True),
    ]
