"""Self-management advice is data, versioned like the instrument; the bundled file is loaded.

The bundled advice paraphrases the guideline summary (exercise, topical anti-inflammatories,
vitamin D, analgesia, when to call) with each item's source and limits, in English and Simplified
Chinese. A clinic replaces it with ``manage.py load_advice FILE``, which checks a file fully;
the bundled one is checked by the tests, so it is loaded here as it stands.
"""

import json
from pathlib import Path

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


BUNDLED = Path(__file__).resolve().parent.parent / "advice_sets" / "self_management.json"


def _by_language(words):
    return {key.lower(): text.strip() for key, text in words.items()}


def load_bundled(apps, schema_editor):
    AdviceSet = apps.get_model("assessments", "AdviceSet")
    AdviceItem = apps.get_model("assessments", "AdviceItem")
    data = json.loads(BUNDLED.read_text(encoding="utf-8"))
    content = {
        "format": data["format"],
        "version": data["version"].strip(),
        "notes": data.get("notes", "").strip(),
        "items": [
            {
                "situation": item["situation"],
                "text": _by_language(item["text"]),
                "source": item["source"].strip(),
                "limits": _by_language(item["limits"]),
            }
            for item in data["items"]
        ],
    }
    advice_set, created = AdviceSet.objects.get_or_create(
        version=content["version"], defaults={"notes": content["notes"], "content": content}
    )
    if created:
        AdviceItem.objects.bulk_create(
            AdviceItem(advice_set=advice_set, position=position, **item)
            for position, item in enumerate(content["items"])
        )


class Migration(migrations.Migration):

    dependencies = [
        ('assessments', '0006_bpi_recall_wording'),
    ]

    operations = [
        migrations.CreateModel(
            name='AdviceSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.CharField(max_length=64, unique=True)),
                ('notes', models.TextField(blank=True, default='')),
                ('content', models.JSONField(help_text='The file as loaded (languages normalised).')),
                ('loaded_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['-loaded_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='AdviceItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveSmallIntegerField(help_text='Its place in the file, from 0.')),
                ('situation', models.CharField(choices=[('none', 'No pain'), ('mild', 'Mild pain'), ('moderate', 'Moderate pain'), ('severe', 'Severe pain'), ('high_interference', 'High interference'), ('worsening', 'Worsening'), ('check_in_lapse', 'Check-in lapse')], max_length=24)),
                ('text', models.JSONField(help_text='Language code -> advice in plain words.')),
                ('source', models.CharField(max_length=300)),
                ('limits', models.JSONField(help_text='Language code -> what the advice cannot promise.')),
                ('advice_set', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='assessments.adviceset')),
            ],
            options={
                'ordering': ['advice_set', 'position'],
                'constraints': [models.UniqueConstraint(fields=('advice_set', 'position'), name='unique_advice_item_position'), models.CheckConstraint(condition=models.Q(('situation__in', ['none', 'mild', 'moderate', 'severe', 'high_interference', 'worsening', 'check_in_lapse'])), name='advice_item_situation_valid')],
            },
        ),
        migrations.RunPython(load_bundled, migrations.RunPython.noop),
    ]
