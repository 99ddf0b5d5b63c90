
import datetime
import django.core.validators
import patients.models
import pgtrigger.compiler
import pgtrigger.migrations
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0008_merge_20261130_1535'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='clinic',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='clinic',
            name='update_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='clinic',
            name='delete_delete',
        ),
        migrations.AddField(
            model_name='clinic',
            name='due_time',
            field=models.TimeField(default=datetime.time(9, 0), verbose_name="due at (patient's local time)"),
        ),
        migrations.AddField(
            model_name='clinic',
            name='escalation_hours',
            field=models.PositiveSmallIntegerField(default=24, help_text='An unclaimed high-priority flag goes to the clinicians after this time.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(336)], verbose_name='escalation after (hours)'),
        ),
        migrations.AddField(
            model_name='clinic',
            name='initial_months',
            field=models.JSONField(default=patients.models.default_initial_months, help_text='e.g. 0, 1, 2, 3: baseline and the first three months.', validators=[patients.models.validate_months], verbose_name='first reassessments (months after diagnosis)'),
        ),
        migrations.AddField(
            model_name='clinic',
            name='interval_months',
            field=models.PositiveSmallIntegerField(default=3, help_text='The guideline: reassess every 2 to 4 months.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(12)], verbose_name='then every (months)'),
        ),
        migrations.AddField(
            model_name='clinic',
            name='link_valid_days',
            field=models.PositiveSmallIntegerField(default=14, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(60)], verbose_name='reminder link valid (days)'),
        ),
        migrations.AddField(
            model_name='clinic',
            name='overdue_days',
            field=models.PositiveSmallIntegerField(default=7, help_text='A reassessment still missing this many days after it fell due is overdue.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(60)], verbose_name='overdue after (days)'),
        ),
        migrations.AddField(
            model_name='clinic',
            name='worsening_points',
            field=models.DecimalField(decimal_places=1, default=Decimal('2.0'), help_text='Average pain or interference up by at least this much from the previous answers raises a worsening flag (IMMPACT: about 2).', max_digits=3, validators=[django.core.validators.MinValueValidator(Decimal('0.1')), django.core.validators.MaxValueValidator(Decimal('10'))], verbose_name='worsening (points)'),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='due_time',
            field=models.TimeField(default=datetime.time(9, 0), verbose_name="due at (patient's local time)"),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='escalation_hours',
            field=models.PositiveSmallIntegerField(default=24, help_text='An unclaimed high-priority flag goes to the clinicians after this time.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(336)], verbose_name='escalation after (hours)'),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='initial_months',
            field=models.JSONField(default=patients.models.default_initial_months, help_text='e.g. 0, 1, 2, 3: baseline and the first three months.', validators=[patients.models.validate_months], verbose_name='first reassessments (months after diagnosis)'),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='interval_months',
            field=models.PositiveSmallIntegerField(default=3, help_text='The guideline: reassess every 2 to 4 months.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(12)], verbose_name='then every (months)'),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='link_valid_days',
            field=models.PositiveSmallIntegerField(default=14, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(60)], verbose_name='reminder link valid (days)'),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='overdue_days',
            field=models.PositiveSmallIntegerField(default=7, help_text='A reassessment still missing this many days after it fell due is overdue.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(60)], verbose_name='overdue after (days)'),
        ),
        migrations.AddField(
            model_name='clinicevent',
            name='worsening_points',
            field=models.DecimalField(decimal_places=1, default=Decimal('2.0'), help_text='Average pain or interference up by at least this much from the previous answers raises a worsening flag (IMMPACT: about 2).', max_digits=3, validators=[django.core.validators.MinValueValidator(Decimal('0.1')), django.core.validators.MaxValueValidator(Decimal('10'))], verbose_name='worsening (points)'),
        ),
        migrations.AlterField(
            model_name='clinic',
            name='time_zone',
            field=models.CharField(default='UTC', max_length=64, validators=[patients.models.validate_time_zone]),
        ),
        migrations.AlterField(
            model_name='clinicevent',
            name='time_zone',
            field=models.CharField(default='UTC', max_length=64, validators=[patients.models.validate_time_zone]),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='clinic',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "patients_clinicevent" ("adherence_min_days", "call_us_words_en", "call_us_words_zh_hans", "code", "created_at", "due_time", "email_sender_name", "escalation_hours", "high_interference_from", "id", "initial_months", "interval_months", "link_valid_days", "name", "opening_hours", "overdue_days", "pain_moderate_from", "pain_severe_from", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "phone", "strategy_window_days", "time_zone", "worsening_points") VALUES (NEW."adherence_min_days", NEW."call_us_words_en", NEW."call_us_words_zh_hans", NEW."code", NEW."created_at", NEW."due_time", NEW."email_sender_name", NEW."escalation_hours", NEW."high_interference_from", NEW."id", NEW."initial_months", NEW."interval_months", NEW."link_valid_days", NEW."name", NEW."opening_hours", NEW."overdue_days", NEW."pain_moderate_from", NEW."pain_severe_from", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."phone", NEW."strategy_window_days", NEW."time_zone", NEW."worsening_points"); RETURN NULL;', hash='9fd6a3b9feb9b16e887ac6cd982362d54855574c', operation='INSERT', pgid='pgtrigger_insert_insert_8cb17', table='patients_clinic', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='clinic',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "patients_clinicevent" ("adherence_min_days", "call_us_words_en", "call_us_words_zh_hans", "code", "created_at", "due_time", "email_sender_name", "escalation_hours", "high_interference_from", "id", "initial_months", "interval_months", "link_valid_days", "name", "opening_hours", "overdue_days", "pain_moderate_from", "pain_severe_from", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "phone", "strategy_window_days", "time_zone", "worsening_points") VALUES (NEW."adherence_min_days", NEW."call_us_words_en", NEW."call_us_words_zh_hans", NEW."code", NEW."created_at", NEW."due_time", NEW."email_sender_name", NEW."escalation_hours", NEW."high_interference_from", NEW."id", NEW."initial_months", NEW."interval_months", NEW."link_valid_days", NEW."name", NEW."opening_hours", NEW."overdue_days", NEW."pain_moderate_from", NEW."pain_severe_from", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."phone", NEW."strategy_window_days", NEW."time_zone", NEW."worsening_points"); RETURN NULL;', hash='c324a510f7f122807e7adf9678fa35477e055e72', operation='UPDATE', pgid='pgtrigger_update_update_83497', table='patients_clinic', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='clinic',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "patients_clinicevent" ("adherence_min_days", "call_us_words_en", "call_us_words_zh_hans", "code", "created_at", "due_time", "email_sender_name", "escalation_hours", "high_interference_from", "id", "initial_months", "interval_months", "link_valid_days", "name", "opening_hours", "overdue_days", "pain_moderate_from", "pain_severe_from", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "phone", "strategy_window_days", "time_zone", "worsening_points") VALUES (OLD."adherence_min_days", OLD."call_us_words_en", OLD."call_us_words_zh_hans", OLD."code", OLD."created_at", OLD."due_time", OLD."email_sender_name", OLD."escalation_hours", OLD."high_interference_from", OLD."id", OLD."initial_months", OLD."interval_months", OLD."link_valid_days", OLD."name", OLD."opening_hours", OLD."overdue_days", OLD."pain_moderate_from", OLD."pain_severe_from", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."phone", OLD."strategy_window_days", OLD."time_zone", OLD."worsening_points"); RETURN NULL;', hash='b332d02bc19f7f037c3f5df586181140218372b6', operation='DELETE', pgid='pgtrigger_delete_delete_fdb4f', table='patients_clinic', when='AFTER')),
        ),
        migrations.AddConstraint(
            model_name='clinic',
            constraint=models.CheckConstraint(condition=models.Q(('worsening_points__gt', 0), ('worsening_points__lte', 10)), name='clinic_worsening_in_range'),
        ),
        migrations.AddConstraint(
            model_name='clinic',
            constraint=models.CheckConstraint(condition=models.Q(('escalation_hours__gte', 1)), name='clinic_escalation_positive'),
        ),
        migrations.AddConstraint(
            model_name='clinic',
            constraint=models.CheckConstraint(condition=models.Q(('overdue_days__gte', 1)), name='clinic_overdue_positive'),
        ),
        migrations.AddConstraint(
            model_name='clinic',
            constraint=models.CheckConstraint(condition=models.Q(('interval_months__gte', 1), ('interval_months__lte', 12)), name='clinic_schedule_interval_1_to_12_months'),
        ),
    ]
