from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from patients.models import Clinic

from . import disclosure
from .cohort import CohortFilter

QUARTERS_ONLY = _(
    "Without access to identified data, dates are whole calendar quarters: from the first day "
    "of January, April, July or October to the last day of March, June, September or December."
)


class CohortFilterForm(forms.Form):
    clinics = forms.ModelMultipleChoiceField(
        queryset=Clinic.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Clinics"),
        help_text=_("None ticked: all your clinics."),
    )
    date_from = forms.DateField(
        required=False, label=_("AIMSS diagnosed from"), widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(
        required=False,
        label=_("to"),
        widget=forms.DateInput({"type": "date"}),
        help_text=QUARTERS_ONLY,
    )

    def __init__(
        self, *args: Any, clinics: QuerySet[Clinic], user: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = clinics
        self.user = user
        self.fields["clinics"].queryset = clinics  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.allowed.exists():
            raise forms.ValidationError(
                _("No clinic has been granted to you, so there is no cohort to analyse.")
            )
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end is before the start."))
        chosen = data.get("clinics") or self.allowed
        if self.user is not None and disclosure.applies(self.user, [c.pk for c in chosen]):
            if start and not disclosure.is_quarter_start(start):
                self.add_error("date_from", QUARTERS_ONLY)
            if end and not disclosure.is_quarter_end(end):
                self.add_error("date_to", QUARTERS_ONLY)
        return data

    def cohort_filter(self) -> CohortFilter:
        chosen = self.cleaned_data.get("clinics") or self.allowed
        return CohortFilter(
            clinic_ids=tuple(sorted(c.pk for c in chosen)),
            date_from=self.cleaned_data.get("date_from"),
            date_to=self.cleaned_data.get("date_to"),
        )
