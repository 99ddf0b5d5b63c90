"""The burden page's form for a clinic's flag rules (its service validates them again)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from patients.models import NOTE_TEMPLATE_MAX_CHARS, NOTE_TEMPLATES_MAX
from patients.rules import TARGET_HOURS_MAX

# Numbers written with the digits 0-9 only: Python reads "٣" as 3 (RELIABILITY: hostile input).
ASCII_NUMBER = re.compile(r"\s*[0-9]{1,4}(\.[0-9]{1,2})?\s*")


class AsciiIntegerField(forms.IntegerField):
    def to_python(self, value: Any) -> int | None:
        if value not in self.empty_values and not ASCII_NUMBER.fullmatch(str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AsciiDecimalField(forms.DecimalField):
    def to_python(self, value: Any) -> Any:  # a Decimal (the stubs say int)
        if value not in self.empty_values and not ASCII_NUMBER.fullmatch(str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class FlagRulesForm(forms.Form):
    high_interference_from = AsciiDecimalField(
        label=_("High interference from (score 0-10)"),
        min_value=Decimal("0.1"),
        max_value=Decimal("10"),
        max_digits=3,
        decimal_places=1,
    )
    worsening_points = AsciiDecimalField(
        label=_("Worsening: rise of at least (points)"),
        min_value=Decimal("0.1"),
        max_value=Decimal("10"),
        max_digits=3,
        decimal_places=1,
    )
    adherence_min_days = AsciiIntegerField(
        label=_("Adherence lapse: AI taken on fewer than (days of 7)"), min_value=1, max_value=7
    )
    overdue_days = AsciiIntegerField(
        label=_("Overdue: reassessment missing after (days)"), min_value=1, max_value=90
    )
    target_hours = AsciiIntegerField(
        label=_("Target time to act (hours)"), min_value=1, max_value=TARGET_HOURS_MAX
    )
    note_templates = forms.CharField(
        label=_("Note templates (one per line)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )

    def clean_note_templates(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["note_templates"].splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > NOTE_TEMPLATES_MAX:
            raise forms.ValidationError(
                _("At most %(n)s note templates."), params={"n": NOTE_TEMPLATES_MAX}
            )
        if any(len(line) > NOTE_TEMPLATE_MAX_CHARS for line in lines):
            raise forms.ValidationError(
                _("Keep each note template under %(n)s characters."),
                params={"n": NOTE_TEMPLATE_MAX_CHARS},
            )
        return lines
