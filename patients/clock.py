"""Time as the product counts it: what a month is, and a patient's local date.

A month on every axis and in every window is the mean Gregorian month. A patient's day is the
day in her own time zone (an answer at 23:30 in Shanghai belongs to that day, not UTC's).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache
from typing import Protocol

from django.utils import timezone

DAYS_PER_MONTH = 30.4375  # days: the mean Gregorian month (365.25 / 12)


class HasTimeZone(Protocol):
    time_zone: str


def zone_of(who: HasTimeZone) -> zoneinfo.ZoneInfo:
    """Her (or her clinic's) zone; UTC if the stored name is not a known zone."""
    try:
        return zoneinfo.ZoneInfo(who.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_date(moment: dt.datetime, who: HasTimeZone) -> dt.date:
    """The date of ``moment`` where she lives."""
    return timezone.localtime(moment, zone_of(who)).date()


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone with a region (``Europe/London``), sorted: a list, never free text."""
    zones = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )
    return [(z, z.replace("_", " ")) for z in zones]
