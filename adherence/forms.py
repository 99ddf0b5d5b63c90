"""Forms for the staff therapy page and the patient's adherence check-in.

The forms parse and check single fields; the services decide everything across rows, and
their messages are put back on the form by :func:`apply_service_errors`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from assessments.models import Instrument

from .models import (
    DAYS_IN_WEEK,
    AiCourse,
    Drug,
    Intervention,
    MissedReason,
    RegimenChange,
    TreatmentEvent,
)
from .scale import scale_questions

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def apply_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Attach a service's errors to the form's fields, or to the form as a whole."""
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            if target is None and field != NON_FIELD_ERRORS:
                message = f"{field.replace('_', ' ').capitalize()}: {message}"
            form.add_error(target, message)


class AiCourseForm(forms.ModelForm[AiCourse]):
    class Meta:
        model = AiCourse
        fields = ["drug", "start_date", "planned_duration_years"]
        widgets = {"start_date": DATE_INPUT}


class RegimenChangeForm(forms.ModelForm[RegimenChange]):
    class Meta:
        model = RegimenChange
        fields = ["kind", "date", "new_drug", "reason"]
        widgets = {"date": DATE_INPUT}


class TreatmentEventForm(forms.ModelForm[TreatmentEvent]):
    class Meta:
        model = TreatmentEvent
        fields = ["kind", "start_date", "end_date", "reason", "explicit_aimss_termination", "note"]
        widgets = {"start_date": DATE_INPUT, "end_date": DATE_INPUT}


class InterventionForm(forms.ModelForm[Intervention]):
    class Meta:
        model = Intervention
        fields = ["measure", "category", "start_date", "end_date", "note"]
        widgets = {"start_date": DATE_INPUT, "end_date": DATE_INPUT}
        help_texts = {"category": _("Filled in from the measure; needed only for 'Other'.")}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["category"].required = False


class InterruptionEndForm(forms.Form):
    event = forms.IntegerField(widget=forms.HiddenInput)
    end_date = forms.DateField(label=_("Last day off the drug"), widget=DATE_INPUT)


YES_NO = [("no", _("No")), ("yes", _("Yes"))]


class CheckInForm(forms.Form):
    """The patient's adherence check-in; each question is rendered as a fieldset."""

    days_taken_last_7 = forms.TypedChoiceField(
        label=_("In the last 7 days, on how many days did you take your aromatase inhibitor?"),
        choices=[(n, str(n)) for n in range(DAYS_IN_WEEK + 1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the number of days, from 0 to 7.")},
    )
    stopped = forms.ChoiceField(
        label=_("Have you stopped taking it?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Answer yes or no.")},
    )
    wants_to_stop = forms.ChoiceField(
        label=_("Do you want to stop taking it?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Answer yes or no.")},
    )
    missed_reason = forms.ChoiceField(
        label=_("If you missed any doses in the last 7 days: why?"),
        choices=MissedReason.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    missed_reason_other = forms.CharField(
        label=_("Another reason, in your own words (optional)"),
        required=False,
        max_length=500,
    )
    reason = forms.CharField(
        label=_("If you stopped or want to stop: why?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    side_effects = forms.CharField(
        label=_("Side effects, in your own words"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(
        self,
        *args: Any,
        drug: str | None = None,
        scale: Instrument | None = None,
        language: str = "en",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.scale = scale
        self.scale_fields: list[str] = []
        for question in scale_questions(scale, language) if scale else []:
            name = f"scale_{question['field']}"
            self.fields[name] = forms.TypedChoiceField(
                label=question["label"],
                choices=question["choices"],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose one answer for this question.")},
            )
            self.scale_fields.append(name)
        if drug in Drug.values:
            # Her own drug by name: "anastrozole" is what is on her box of tablets.
            self.fields["days_taken_last_7"].label = _(
                "In the last 7 days, on how many days did you take your %(drug)s?"
            ) % {"drug": Drug(drug).label.lower()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        days = data.get("days_taken_last_7")
        if days is None:
            return data
        if days < DAYS_IN_WEEK and not data.get("missed_reason"):
            self.add_error(
                "missed_reason",
                _(
                    "You took it on %(days)s of 7 days: choose why you missed doses, just "
                    "below the number of days."
                )
                % {"days": days},
            )
        if days == DAYS_IN_WEEK:
            # No dose missed: a reason chosen before changing the answer to 7 is dropped.
            data["missed_reason"] = data["missed_reason_other"] = ""
        if data.get("missed_reason") != MissedReason.OTHER:
            data["missed_reason_other"] = ""
        return data

    @property
    def scale_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.scale_fields]

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        scale = {name.removeprefix("scale_"): data[name] for name in self.scale_fields}
        return {
            "missed_reason": data["missed_reason"],
            "missed_reason_other": data["missed_reason_other"],
            "scale_answers": scale or None,
            "days_taken_last_7": data["days_taken_last_7"],
            "stopped": data["stopped"] == "yes",
            "wants_to_stop": data["wants_to_stop"] == "yes",
            "reason": data["reason"],
            "side_effects": data["side_effects"],
            "submission_token": data["submission_token"],
        }


class DoseReminderForm(forms.Form):
    """Her daily reminder: on or off, and at what time of her day."""

    enabled = forms.BooleanField(label=_("Send me a daily reminder"), required=False)
    time = forms.TimeField(
        label=_("At (your local time)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": _("Give the time of day for your reminder, e.g. 09:00."),
            "invalid": _("Give the time as hours and minutes, e.g. 09:00."),
        },
    )
