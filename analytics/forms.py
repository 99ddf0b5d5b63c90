from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Clinic

from . import disclosure
from .cohort import CohortFilter
from .eligibility import CRITERIA, OTHER_STOP_CENSOR, OTHER_STOP_EXCLUDE

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
    as_of = forms.DateField(
        required=False,
        label=_("As of"),
        widget=forms.DateInput({"type": "date"}),
        help_text=_(
            "Records after this day are not read, and an AIMSS interruption still open on it "
            "is counted up to it. Empty: today. Without access to identified data: the last "
            "day of a quarter."
        ),
    )
    other_stop = forms.ChoiceField(
        choices=[
            (OTHER_STOP_CENSOR, _("censored at that date")),
            (OTHER_STOP_EXCLUDE, _("excluded, as the study did")),
        ],
        initial=OTHER_STOP_CENSOR,
        required=False,
        widget=forms.RadioSelect,
        label=_("AI stopped for another reason or switched to a non-AI endocrine therapy"),
    )
    skip_criteria = forms.MultipleChoiceField(
        choices=[(name, _(label)) for name, label in CRITERIA.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Eligibility criteria not to apply"),
        help_text=_("None ticked: every criterion of the study is applied."),
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
            as_of = data.get("as_of")
            if as_of and not disclosure.is_quarter_end(as_of):
                self.add_error("as_of", QUARTERS_ONLY)
        if data.get("as_of") and data["as_of"] > timezone.localdate():
            self.add_error("as_of", _("The as-of date is in the future."))
        return data

    def cohort_filter(self) -> CohortFilter:
        chosen = self.cleaned_data.get("clinics") or self.allowed
        skipped = set(self.cleaned_data.get("skip_criteria") or ())
        return CohortFilter(
            clinic_ids=tuple(sorted(c.pk for c in chosen)),
            date_from=self.cleaned_data.get("date_from"),
            date_to=self.cleaned_data.get("date_to"),
            as_of=self.cleaned_data.get("as_of"),
            other_stop=self.cleaned_data.get("other_stop") or OTHER_STOP_CENSOR,
            criteria=tuple(c for c in CRITERIA if c not in skipped),
        ).resolved()
