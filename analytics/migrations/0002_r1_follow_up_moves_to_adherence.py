"""An imported patient's last follow-up date moves to ``adherence.ExternalFollowUp``, which the
survival selector reads, so analytics no longer extends adherence's list of sources."""

from django.db import migrations


def copy_to_adherence(apps, schema_editor):
    ImportedPatient = apps.get_model("analytics", "ImportedPatient")
    ExternalFollowUp = apps.get_model("adherence", "ExternalFollowUp")
    ExternalFollowUp.objects.bulk_create(
        [
            ExternalFollowUp(patient_id=patient_id, last_follow_up_date=date)
            for patient_id, date in ImportedPatient.objects.values_list(
                "patient_id", "last_follow_up_date"
            )
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("adherence", "0003_r1_external_follow_up"),
        ("analytics", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_to_adherence, migrations.RunPython.noop),
        migrations.RemoveField(model_name="importedpatient", name="last_follow_up_date"),
    ]
