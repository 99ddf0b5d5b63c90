"""Alert burden per clinic and ISO week, so that a clinic can tune its flag rules.

Alert fatigue is the known cost of electronic patient-reported outcomes: in PRO-TECT (Basch E
et al., "Effect of electronic symptom monitoring on patient-reported outcomes among patients
with metastatic cancer", JAMA 2022; and the trial's implementation reports) 34 % of weekly
surveys raised an alert, patients rated only about 10 % of them urgent, and a model could have
deferred 38 %. The page sets each clinic's figures beside that 34 %, and audits suppression:
how often a snoozed flag, or one resolved without action, was followed by a worsening within
30 days.

These are staff pages of identified data for the user's own clinics, so no cell is suppressed.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.models import Response
from patients.access import clinic_ids_of
from patients.models import Clinic, User
from patients.rules import ClinicRules, rules_of

from .models import (
    CARE_ACTIONS,
    ActionKind,
    Flag,
    FlagAction,
    FlagKind,
    FlagStatus,
    FlagTrigger,
    TriggerSource,
)
from .trials import RESPONSE_DROP_POINTS

# PRO-TECT (Basch et al., JAMA 2022): share of weekly surveys that raised an alert, percent.
PRO_TECT_ALERT_PCT = 34
# The safety audit of suppression: a worsening this soon after a snooze or a resolution
# without action counts against it.
WORSENING_AFTER = dt.timedelta(days=30)
BURDEN_WEEKS = 12
ACTED = [a for a in CARE_ACTIONS if a != ActionKind.NO_ACTION_NEEDED]


@dataclass
class BurdenRow:
    """One clinic's week (Monday to Sunday, ISO)."""

    clinic_id: int
    clinic_code: str
    week: dt.date
    responses: int = 0
    responses_alerting: int = 0
    flags_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FlagKind.values, 0))
    resolved_no_action: int = 0
    snoozed: int = 0
    waits_hours: list[float] = field(default_factory=list)
    suppressed: int = 0
    suppressed_then_worse: int = 0

    @property
    def iso_week(self) -> str:
        year, week, _day = self.week.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def flags(self) -> int:
        return sum(self.flags_by_kind.values())

    def per_100(self, kind: str) -> float | None:
        return _pct(self.flags_by_kind[kind], self.responses)

    @property
    def per_100_by_kind(self) -> list[float | None]:
        return [self.per_100(kind) for kind in FlagKind.values]

    @property
    def responses_alerting_pct(self) -> float | None:
        return _pct(self.responses_alerting, self.responses)

    @property
    def resolved_no_action_pct(self) -> float | None:
        return _pct(self.resolved_no_action, self.flags)

    @property
    def snoozed_pct(self) -> float | None:
        return _pct(self.snoozed, self.flags)

    @property
    def median_hours_to_first_action(self) -> float | None:
        return round(statistics.median(self.waits_hours), 1) if self.waits_hours else None

    @property
    def suppressed_then_worse_pct(self) -> float | None:
        return _pct(self.suppressed_then_worse, self.suppressed)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class ClinicBurden:
    clinic: Clinic
    rules: ClinicRules
    weeks: list[BurdenRow]
    total: BurdenRow  # the period as a whole, for the rules' table


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _week_of(moment: dt.datetime | dt.date) -> dt.date:
    day = timezone.localdate(moment) if isinstance(moment, dt.datetime) else moment
    return _monday(day)


def alert_burden(
    *, user: User, weeks: int = BURDEN_WEEKS, now: dt.datetime | None = None
) -> list[ClinicBurden]:
    """The burden of each of her clinics over the last ``weeks`` ISO weeks (this one included),
    newest week first; flags count in the week they opened."""
    now = now or timezone.now()
    since_day = _monday(timezone.localdate(now)) - dt.timedelta(weeks=weeks - 1)
    since = timezone.make_aware(dt.datetime.combine(since_day, dt.time()))
    clinic_ids = clinic_ids_of(user)
    clinics = Clinic.objects.order_by("name")
    if clinic_ids is not None:
        clinics = clinics.filter(pk__in=clinic_ids)
    clinics_list = list(clinics)
    ids = [c.pk for c in clinics_list]
    rows: dict[tuple[int, dt.date], BurdenRow] = {}
    codes = {c.pk: c.code for c in clinics_list}

    def row(clinic_id: int, week: dt.date) -> BurdenRow:
        key = (clinic_id, week)
        if key not in rows:
            rows[key] = BurdenRow(clinic_id=clinic_id, clinic_code=codes[clinic_id], week=week)
        return rows[key]

    alerting = FlagTrigger.objects.filter(source=TriggerSource.RESPONSE, source_id=OuterRef("pk"))
    responses = (
        Response.objects.current()
        .filter(patient__clinic_id__in=ids, submitted_at__gte=since)
        .annotate(week=TruncWeek("submitted_at"), alerting=Exists(alerting))
        .values("patient__clinic_id", "week")
        .annotate(n=Count("id"), alerting_n=Count("id", filter=Q(alerting=True)))
        .order_by()
    )
    for counted in responses:
        target = row(counted["patient__clinic_id"], _week_of(counted["week"]))
        target.responses += counted["n"]
        target.responses_alerting += counted["alerting_n"]

    actions = FlagAction.objects.filter(flag=OuterRef("pk"))
    flags = (
        Flag.objects.filter(clinic_id__in=ids, opened_at__gte=since)
        .annotate(
            no_action=Exists(actions.filter(action=ActionKind.NO_ACTION_NEEDED)),
            acted=Exists(actions.filter(action__in=ACTED)),
            snoozed_at=Subquery(
                actions.filter(action=ActionKind.SNOOZED)
                .order_by("created_at")
                .values("created_at")[:1]
            ),
        )
        .values_list(
            *("clinic_id", "kind", "status", "opened_at", "first_action_at", "resolved_at"),
            *("resolved_by_id", "patient_id", "no_action", "acted", "snoozed_at"),
        )
        .order_by()
    )
    suppressions: list[tuple[BurdenRow, int, dt.datetime]] = []
    for (
        clinic_id,
        kind,
        status,
        opened_at,
        first_action_at,
        resolved_at,
        resolved_by_id,
        patient_id,
        no_action,
        acted,
        snoozed_at,
    ) in flags:
        target = row(clinic_id, _week_of(opened_at))
        target.flags_by_kind[kind] += 1
        resolved = status == FlagStatus.RESOLVED
        if resolved and no_action:
            target.resolved_no_action += 1
        if snoozed_at is not None:
            target.snoozed += 1
        if first_action_at is not None:
            target.waits_hours.append((first_action_at - opened_at).total_seconds() / 3600)
        # Suppressed: snoozed, or closed by a nurse without any action but "no action needed".
        if snoozed_at is not None:
            suppressions.append((target, patient_id, snoozed_at))
        elif resolved and resolved_by_id is not None and not acted:
            suppressions.append((target, patient_id, resolved_at))
    _audit_suppressions(suppressions)

    result = []
    for clinic in clinics_list:
        weeks_of_clinic = sorted(
            (w for w in rows.values() if w.clinic_id == clinic.pk),
            key=lambda w: w.week,
            reverse=True,
        )
        total = BurdenRow(clinic_id=clinic.pk, clinic_code=clinic.code, week=since_day)
        for w in weeks_of_clinic:
            total.responses += w.responses
            total.responses_alerting += w.responses_alerting
            for kind, n in w.flags_by_kind.items():
                total.flags_by_kind[kind] += n
            total.resolved_no_action += w.resolved_no_action
            total.snoozed += w.snoozed
            total.waits_hours += w.waits_hours
            total.suppressed += w.suppressed
            total.suppressed_then_worse += w.suppressed_then_worse
        rules = rules_of(clinic)
        result.append(ClinicBurden(clinic=clinic, rules=rules, weeks=weeks_of_clinic, total=total))
    return result


def _audit_suppressions(suppressions: list[tuple[BurdenRow, int, dt.datetime]]) -> None:
    """Count each suppression, and whether a worsening followed within ``WORSENING_AFTER``
    (one query for every suppressed patient's worsening triggers)."""
    if not suppressions:
        return
    patient_ids = {patient_id for _row, patient_id, _at in suppressions}
    earliest = min(at for _row, _patient, at in suppressions)
    worsenings: dict[int, list[dt.datetime]] = {}
    for patient_id, at in FlagTrigger.objects.filter(
        kind=FlagKind.WORSENING, flag__patient_id__in=patient_ids, triggered_at__gt=earliest
    ).values_list("flag__patient_id", "triggered_at"):
        worsenings.setdefault(patient_id, []).append(at)
    for target, patient_id, at in suppressions:
        target.suppressed += 1
        if any(at < w <= at + WORSENING_AFTER for w in worsenings.get(patient_id, [])):
            target.suppressed_then_worse += 1


# The CSV's columns, in order: a contract (docs/api.md), never renamed.
CSV_COLUMNS = (
    "clinic_code",
    "iso_week",
    "week_start",
    "responses",
    "responses_alerting_pct",
    "pro_tect_alerting_pct",
    *(f"{kind}_per_100_responses" for kind in FlagKind.values),
    "flags",
    "resolved_no_action_pct",
    "median_hours_to_first_action",
    "snoozed_pct",
    "suppressed",
    "suppressed_then_worsening_pct",
    "high_interference_from",
    "worsening_points",
    "adherence_min_days",
    "overdue_days",
    "target_hours",
)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.1f}"
    return value


def burden_csv_rows(burden: list[ClinicBurden]) -> list[list[object]]:
    """The rows of the CSV export (after its header, ``CSV_COLUMNS``)."""
    lines = []
    for clinic_burden in burden:
        clinic, rules = clinic_burden.clinic, clinic_burden.rules
        for r in clinic_burden.weeks:
            values = [
                clinic.code,
                r.iso_week,
                r.week.isoformat(),
                r.responses,
                r.responses_alerting_pct,
                PRO_TECT_ALERT_PCT,
                *r.per_100_by_kind,
                r.flags,
                r.resolved_no_action_pct,
                r.median_hours_to_first_action,
                r.snoozed_pct,
                r.suppressed,
                r.suppressed_then_worse_pct,
                rules.high_interference_from,
                rules.worsening_points,
                rules.adherence_min_days,
                rules.overdue_days,
                rules.target_hours,
            ]
            lines.append([_cell(v) for v in values])
    return lines


def rule_in_words(kind: str, rules: ClinicRules) -> str:
    """The rule that raises a flag of this kind, with the clinic's threshold. (A new flag kind
    needs its words here, beside its priority and urgency in ``models``; a test checks all
    three.)"""
    words = {
        FlagKind.HIGH_INTERFERENCE: _("Interference score ≥ %(n)s")
        % {"n": rules.high_interference_from},
        FlagKind.WORSENING: _("Pain or interference up ≥ %(n)s points")
        % {"n": rules.worsening_points},
        FlagKind.ADHERENCE_LAPSE: _("AI taken on fewer than %(n)s of 7 days")
        % {"n": rules.adherence_min_days},
        FlagKind.OVERDUE: _("Reassessment missing %(n)s days after due")
        % {"n": rules.overdue_days},
        FlagKind.REVIEW_MANAGEMENT: _(
            "Less than a %(n)s-point drop at the trial's time point after an intervention"
        )
        % {"n": RESPONSE_DROP_POINTS},
    }
    return str(words[FlagKind(kind)])


def rules_beside_burden(b: ClinicBurden) -> list[tuple[str, str, float | None]]:
    """Each kind's rule in words and its flags per 100 responses over the period."""
    return [
        (str(FlagKind(k).label), rule_in_words(k, b.rules), b.total.per_100(k))
        for k in FlagKind.values
    ]
