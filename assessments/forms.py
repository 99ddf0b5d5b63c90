"""The BPI-SF form (patient and staff): one clear message per missing or invalid answer."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import (
    INTERFERENCE_FIELDS,
    RELIEF_STEPS,
    TREATMENTS_MAX_CHARS,
    BodyRegion,
    RecallPeriod,
    location_errors,
)
from .services import Answers

SCALE_CHOICES = [(str(value), str(value)) for value in range(11)]
RELIEF_CHOICES = [(str(value), f"{value}%") for value in RELIEF_STEPS]
INTERFERENCE_NAMES = tuple(name for name, _field in INTERFERENCE_FIELDS)
# Form fields kept in a draft (everything a patient can answer).
DRAFT_FIELDS = (
    "recall_period",
    "has_pain_today",
    "pain_locations",
    "worst_location",
    "worst_pain",
    "least_pain",
    "average_pain",
    "pain_now",
    "treatments",
    "relief_percent",
    *INTERFERENCE_NAMES,
)


def _scale(required_message: Any, *, required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        choices=SCALE_CHOICES,
        coerce=int,
        required=required,
        empty_value=None,
        widget=forms.RadioSelect,
        error_messages={
            "required": required_message,
            "invalid_choice": _("Choose a whole number from 0 to 10."),
        },
    )


class ResponseForm(forms.Form):
    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    recall_period = forms.ChoiceField(
        choices=RecallPeriod.choices,
        initial=RecallPeriod.HOURS_24,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the period you are answering about.")},
    )
    has_pain_today = forms.TypedChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Answer whether you have had pain today.")},
    )
    pain_locations = forms.MultipleChoiceField(
        choices=BodyRegion.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose body areas from the list.")},
    )
    worst_location = forms.ChoiceField(
        choices=BodyRegion.choices,
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose the area that hurts most from the list.")},
    )
    worst_pain = _scale(_("Choose a number from 0 to 10 for your worst pain."))
    least_pain = _scale(_("Choose a number from 0 to 10 for your least pain."))
    average_pain = _scale(_("Choose a number from 0 to 10 for your average pain."))
    pain_now = _scale(_("Choose a number from 0 to 10 for your pain right now."))
    treatments = forms.CharField(
        required=False,
        max_length=TREATMENTS_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    relief_percent = forms.TypedChoiceField(
        choices=RELIEF_CHOICES,
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose a relief from 0% to 100% in steps of 10.")},
    )
    general_activity = _scale("", required=False)
    mood = _scale("", required=False)
    walking_ability = _scale("", required=False)
    normal_work = _scale("", required=False)
    relations_with_others = _scale("", required=False)
    sleep = _scale("", required=False)
    enjoyment_of_life = _scale("", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "pain_locations" in data and "has_pain_today" in data:
            for field, message in location_errors(
                has_pain_today=data.get("has_pain_today"),
                pain_locations=data.get("pain_locations"),
                worst_location=data.get("worst_location"),
            ).items():
                self.add_error(field, message)
        return data

    def answers(self) -> Answers:
        return Answers.from_data(self.cleaned_data)

    def submission_key_or_new(self) -> uuid.UUID:
        """The form's one-time token as posted, or a new one if it was missing or mangled."""
        try:
            return uuid.UUID(str(self.data.get("submission_key", "")))
        except ValueError:
            return uuid.uuid4()

    def draft_answers(self) -> dict[str, Any]:
        """What the patient has answered so far, as posted (valid or not): a draft."""
        answers: dict[str, Any] = {}
        for name in DRAFT_FIELDS:
            if name == "pain_locations":
                posted = self.data.getlist(name) if hasattr(self.data, "getlist") else []
                values = [v for v in posted if v in BodyRegion.values]
                if values:
                    answers[name] = values
            elif (value := str(self.data.get(name, ""))[:TREATMENTS_MAX_CHARS]) != "":
                answers[name] = value
        return answers


class CorrectionForm(ResponseForm):
    correction_reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the response is corrected.")},
    )


def initial_from_answers(answers: Answers) -> dict[str, Any]:
    """Form initial values from stored answers (for a correction)."""
    data = answers.as_dict()
    interference = data.pop("interference")
    # None: an imported response, which never had item 1
    data["has_pain_today"] = {True: "yes", False: "no"}.get(answers.has_pain_today)
    for name, value in {**data, **interference}.items():
        if isinstance(value, int) and not isinstance(value, bool):
            data[name] = str(value)
        elif name in interference:
            data[name] = value
    return data
