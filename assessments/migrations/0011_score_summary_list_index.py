"""The summary's copies of her clinic and name are always there; the list's index on them.

(Apart from the copying migration: PostgreSQL alters no table with the copy's foreign-key
checks still pending in the same transaction.)"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assessments", "0010_score_summary_clinic_and_name")]

    operations = [
        migrations.AlterField(
            model_name="scoresummary",
            name="clinic",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="patients.clinic",
            ),
        ),
        migrations.AlterField(
            model_name="scoresummary",
            name="family_name",
            field=models.CharField(max_length=100),
        ),
        migrations.AddIndex(
            model_name="scoresummary",
            index=models.Index(
                fields=["clinic", "-latest_average", "family_name", "patient"],
                name="summary_list_average_idx",
            ),
        ),
    ]
