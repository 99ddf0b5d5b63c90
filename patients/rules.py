"""A clinic's rules: every clinical threshold and interval, in one frozen object.

Every app reads them through :func:`rules_of` (``patients`` is the lowest layer, so all can).
The defaults below are the published values; a clinic's administrator may change them on the
clinic's settings page, and they are stored as columns of :class:`patients.models.Clinic`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Clinic

# --- BPI-SF (Cleeland, The Brief Pain Inventory User Guide) -----------------------------------
# Pain bands on the 0-10 severity score: 1-4 mild, 5-6 moderate, 7-10 severe (Serlin et al.,
# Pain 1995).
PAIN_MODERATE_FROM = 5  # points of 0-10; Serlin 1995
PAIN_SEVERE_FROM = 7  # points of 0-10; Serlin 1995
# High interference: interference score >= 7 (Serlin 1995; Shi et al. 2017; Liang et al., the
# study, whose strata and interaction use it).
HIGH_INTERFERENCE_FROM = Decimal("7.0")  # points of 0-10
# Worsening: average pain or interference up by at least 2 points from her previous response
# (about 2 points is a meaningful change for pain; Dworkin et al., IMMPACT 2008).
WORSENING_POINTS = Decimal("2.0")  # points of 0-10

# --- Adherence and management ------------------------------------------------------------------
# A lapse: the AI taken on fewer than 5 of the last 7 days. The product's rule, not a published
# cut-off: taking > 80 % of doses goes with lower recurrence, and the guideline asks that
# adherence be evaluated at every visit.
ADHERENCE_MIN_DAYS = 5  # days of the last 7
# The study's "initial management" (Liang et al.): categories started within this many days
# after the AIMSS diagnosis decide monotherapy (one) vs combined (two or more).
STRATEGY_WINDOW_DAYS = 14  # days

# --- Follow-up ---------------------------------------------------------------------------------
# Reassessments at baseline and months 1, 2 and 3 (the study's 3-month trajectory), then every
# 3 months (the guideline: reassess AIMSS every 2-4 months with standardised tools).
INITIAL_MONTHS = (0, 1, 2, 3)  # months after the AIMSS diagnosis
INTERVAL_MONTHS = 3  # months
DUE_TIME = dt.time(9, 0)  # the patient's local time a reassessment falls due
LINK_VALID_DAYS = 14  # days a reminder's single-use link stays valid
# A reassessment still missing a week after it fell due raises the overdue flag (the product's
# choice: PRO-TECT reached 91 % completion only with reminders and staff follow-up, Basch et al.).
OVERDUE_DAYS = 7  # days
# Adaptive reassessment: after a worsening flag, a new intervention or a resumed AI her next
# BPI-SF falls due this many weeks after it (then after each answer) instead of at the routine
# interval, until two answers in a row are stable. A clinic rule, not a published interval: the
# guideline asks for reassessment every 2-4 months, and the trials read a response early (SWOG
# S1200 (Hershman 2018) at 6 weeks), so a change is looked at again within about a month.
ADAPTIVE_INTERVAL_WEEKS = 4  # weeks
ADAPTIVE_INTERVAL_WEEKS_MAX = 12
# An unclaimed high-priority flag escalates to the clinicians after a day (the product's choice).
ESCALATION_HOURS = 24  # hours
# The queue shows how long each flag has waited against the clinic's target time to act: a
# working day by default (the product's choice; nurses in PRO-TECT answered alerts the same or
# next day, Basch et al.).
TARGET_HOURS = 24  # hours
TARGET_HOURS_MAX = 24 * 14
# Reminders are held during a patient's quiet hours; these are the default for a new patient,
# who may set her own.
QUIET_HOURS_START = dt.time(21, 0)  # local time
QUIET_HOURS_END = dt.time(8, 0)  # local time
TIME_ZONE = "UTC"  # IANA name; a clinic's default, each patient has her own

# Bounds an administrator may choose within (the database holds the same as constraints).
INTERVAL_MONTHS_MAX = 12
INITIAL_MONTHS_MAX = 24  # the first reassessments fall within two years of the diagnosis
STRATEGY_WINDOW_DAYS_MAX = 365


@dataclass(frozen=True)
class ClinicRules:
    """Every threshold and interval of one clinic (defaults: the published values)."""

    pain_moderate_from: int = PAIN_MODERATE_FROM
    pain_severe_from: int = PAIN_SEVERE_FROM
    high_interference_from: Decimal = HIGH_INTERFERENCE_FROM
    worsening_points: Decimal = WORSENING_POINTS
    adherence_min_days: int = ADHERENCE_MIN_DAYS
    # The check-in asks MARS-5 (Horne) where the clinic holds its licence (off by default).
    ask_adherence_scale: bool = False
    strategy_window_days: int = STRATEGY_WINDOW_DAYS
    initial_months: tuple[int, ...] = INITIAL_MONTHS
    interval_months: int = INTERVAL_MONTHS
    due_time: dt.time = DUE_TIME
    link_valid_days: int = LINK_VALID_DAYS
    overdue_days: int = OVERDUE_DAYS
    adaptive_interval_weeks: int = ADAPTIVE_INTERVAL_WEEKS
    escalation_hours: int = ESCALATION_HOURS
    target_hours: int = TARGET_HOURS
    note_templates: tuple[str, ...] = ()  # short notes a nurse picks when recording an action
    # The quiet hours a new patient starts with (she may set her own); not set per clinic.
    quiet_hours: tuple[dt.time, dt.time] = field(default=(QUIET_HOURS_START, QUIET_HOURS_END))
    time_zone: str = TIME_ZONE


DEFAULT_RULES = ClinicRules()


def rules_of(clinic: Clinic | None) -> ClinicRules:
    """The rules of ``clinic`` (the published defaults when there is none)."""
    if clinic is None:
        return DEFAULT_RULES
    return ClinicRules(
        pain_moderate_from=clinic.pain_moderate_from,
        pain_severe_from=clinic.pain_severe_from,
        high_interference_from=Decimal(clinic.high_interference_from),
        worsening_points=Decimal(clinic.worsening_points),
        adherence_min_days=clinic.adherence_min_days,
        ask_adherence_scale=clinic.ask_adherence_scale,
        strategy_window_days=clinic.strategy_window_days,
        initial_months=tuple(sorted(set(clinic.initial_months))),
        interval_months=clinic.interval_months,
        due_time=clinic.due_time,
        link_valid_days=clinic.link_valid_days,
        overdue_days=clinic.overdue_days,
        adaptive_interval_weeks=clinic.adaptive_interval_weeks,
        escalation_hours=clinic.escalation_hours,
        target_hours=clinic.target_hours,
        note_templates=tuple(clinic.note_templates or ()),
        time_zone=clinic.time_zone,
    )
