"""The clinic settings form: the clinic's rules and contact details, as an administrator
edits them. Single fields are checked here; the model's validation (``clinic_update``) decides
the rest, with the same messages on every path."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .clock import time_zone_choices
from .models import Clinic
from .rules import INITIAL_MONTHS_MAX, INTERVAL_MONTHS_MAX

# The settings page, in the order an administrator reads them: contact first, then the rules.
CONTACT_FIELDS = (
    "time_zone",
    "phone",
    "opening_hours",
    "call_us_words_en",
    "call_us_words_zh_hans",
    "email_sender_name",
)
RULE_FIELDS = (
    "pain_moderate_from",
    "pain_severe_from",
    "high_interference_from",
    "worsening_points",
    "adherence_min_days",
    "ask_adherence_scale",
    "strategy_window_days",
    "initial_months",
    "interval_months",
    "adaptive_interval_weeks",
    "due_time",
    "link_valid_days",
    "overdue_days",
    "escalation_hours",
    "target_hours",
)


class InitialMonthsField(forms.Field):
    """Months after diagnosis as "0, 1, 2, 3" (a list in the database)."""

    widget = forms.TextInput

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(month) for month in value)
        return value

    def to_python(self, value: Any) -> list[int]:
        text = "" if value is None else str(value)
        parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise forms.ValidationError(
                _("Write whole months after the diagnosis, separated by commas, e.g. 0, 1, 2, 3.")
            )
        months = sorted({int(part) for part in parts})
        if months and months[-1] > INITIAL_MONTHS_MAX:
            raise forms.ValidationError(
                _("The first reassessments fall within %(max)s months of the diagnosis.")
                % {"max": INITIAL_MONTHS_MAX}
            )
        return months


class ClinicSettingsForm(forms.ModelForm[Clinic]):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=time_zone_choices)
    initial_months = InitialMonthsField(
        label=_("First reassessments (months after diagnosis)"),
        required=False,
        help_text=_("e.g. 0, 1, 2, 3: baseline and the first three months."),
    )

    class Meta:
        model = Clinic
        fields = [*CONTACT_FIELDS, *RULE_FIELDS]
        widgets = {"due_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        labels = {
            "pain_moderate_from": _("Moderate pain from (0-10)"),
            "pain_severe_from": _("Severe pain from (0-10)"),
            "high_interference_from": _("High interference from (0-10)"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update({"type": "tel", "autocomplete": "off"})
        self.fields["interval_months"].widget.attrs["max"] = INTERVAL_MONTHS_MAX

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        moderate, severe = data.get("pain_moderate_from"), data.get("pain_severe_from")
        if moderate is not None and severe is not None and moderate >= severe:
            self.add_error(
                "pain_severe_from",
                _("Severe pain must start above moderate pain (Serlin 1995: 5 and 7)."),
            )
        return data

    def _post_clean(self) -> None:
        # The service validates the whole clinic (full_clean) and saves it.
        pass
