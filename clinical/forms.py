"""The enrolment form: her identity, contact, language and zone, the study's baseline, and her
AI course. Single fields are checked here; the enrolment service decides the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from adherence.enrolment import PATIENT_FIELDS
from adherence.models import Drug
from patients.clock import time_zone_choices
from patients.models import Clinic, ContactChannels, Patient

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EnrolmentForm(forms.ModelForm[Patient]):
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), label=_("Clinic"))
    ai_drug = forms.ChoiceField(label=_("Aromatase inhibitor"), choices=Drug.choices)
    ai_start_date = forms.DateField(label=_("AI start date"), widget=DATE_INPUT)

    class Meta:
        model = Patient
        fields = list(PATIENT_FIELDS)
        widgets = {
            "birth_date": DATE_INPUT,
            "aimss_diagnosis_date": DATE_INPUT,
            "time_zone": forms.Select(),
        }
        labels = {
            "given_name": _("Given name"),
            "family_name": _("Family name"),
            "birth_date": _("Birth date"),
            "email": _("E-mail address"),
            "preferred_language": _("Language"),
            "time_zone": _("Time zone"),
            "reminder_channels": _("Reminders by"),
            "height_cm": _("Height (cm)"),
            "weight_kg": _("Weight (kg)"),
        }

    def __init__(self, *args: Any, clinics: QuerySet[Clinic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics  # type: ignore[attr-defined]
        if clinics.count() == 1:
            self.fields["clinic"].initial = clinics.first()
        self.fields["email"].required = True
        self.fields["time_zone"].widget.choices = time_zone_choices()
        self.fields["phone"].widget.attrs.update({"type": "tel", "autocomplete": "off"})
        # e-mail unless she asks for texts too (a text needs her mobile number)
        self.fields["reminder_channels"].required = False
        self.fields["reminder_channels"].widget = forms.RadioSelect(choices=ContactChannels.choices)
        self.fields["reminder_channels"].initial = ContactChannels.EMAIL
        self.order_fields(["clinic", *PATIENT_FIELDS, "ai_drug", "ai_start_date"])

    def clean_reminder_channels(self) -> str:
        return str(self.cleaned_data.get("reminder_channels") or ContactChannels.EMAIL)

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data["time_zone"]
        if zone not in dict(time_zone_choices()):
            raise forms.ValidationError(_("Choose her time zone from the list."))
        return str(zone)

    def _post_clean(self) -> None:
        # The enrolment service validates the whole record (and the clinic's uniqueness of
        # the record number, with a clearer message than the model's).
        pass
