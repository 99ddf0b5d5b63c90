from django.db import migrations

# A clinic's flag and schedule rules move to columns of the clinic (read through
# patients.rules.rules_of); each clinic keeps the values it had set.
FLAG_FIELDS = ("worsening_points", "overdue_days", "escalation_hours")
SCHEDULE_FIELDS = ("initial_months", "interval_months", "due_time", "link_valid_days")


def copy_rules_to_clinic(apps, schema_editor):
    Clinic = apps.get_model("patients", "Clinic")
    FlagRules = apps.get_model("followup", "FlagRules")
    ScheduleRules = apps.get_model("followup", "ScheduleRules")
    for rules in FlagRules.objects.all():
        Clinic.objects.filter(pk=rules.clinic_id).update(
            **{name: getattr(rules, name) for name in FLAG_FIELDS}
        )
    for rules in ScheduleRules.objects.all():
        Clinic.objects.filter(pk=rules.clinic_id).update(
            **{name: getattr(rules, name) for name in SCHEDULE_FIELDS}
        )


def copy_rules_back(apps, schema_editor):
    Clinic = apps.get_model("patients", "Clinic")
    FlagRules = apps.get_model("followup", "FlagRules")
    ScheduleRules = apps.get_model("followup", "ScheduleRules")
    for clinic in Clinic.objects.all():
        FlagRules.objects.update_or_create(
            clinic=clinic, defaults={name: getattr(clinic, name) for name in FLAG_FIELDS}
        )
        ScheduleRules.objects.update_or_create(
            clinic=clinic, defaults={name: getattr(clinic, name) for name in SCHEDULE_FIELDS}
        )


class Migration(migrations.Migration):

    dependencies = [
        ('followup', '0007_f19_system_actions'),
        ('patients', '0009_clinic_rules'),
    ]

    operations = [
        migrations.RunPython(copy_rules_to_clinic, copy_rules_back),
        migrations.RemoveField(
            model_name='flagrulesevent',
            name='pgh_obj',
        ),
        migrations.RemoveField(
            model_name='flagrulesevent',
            name='clinic',
        ),
        migrations.RemoveField(
            model_name='flagrulesevent',
            name='pgh_context',
        ),
        migrations.RemoveField(
            model_name='schedulerules',
            name='clinic',
        ),
        migrations.RemoveField(
            model_name='schedulerulesevent',
            name='pgh_obj',
        ),
        migrations.RemoveField(
            model_name='schedulerulesevent',
            name='clinic',
        ),
        migrations.RemoveField(
            model_name='schedulerulesevent',
            name='pgh_context',
        ),
        migrations.DeleteModel(
            name='FlagRules',
        ),
        migrations.DeleteModel(
            name='FlagRulesEvent',
        ),
        migrations.DeleteModel(
            name='ScheduleRules',
        ),
        migrations.DeleteModel(
            name='ScheduleRulesEvent',
        ),
    ]
