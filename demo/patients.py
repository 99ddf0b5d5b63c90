"""The synthetic demo cohort, calibrated to Table 1 of the study (Liang et al.).

Every patient gets a *profile*: her baseline record plus the latent facts later parts of the
demo draw on (her initial management group, initial AI, months from AI start to AIMSS, and
baseline BPI scores). Categorical characteristics are allocated in exact proportions per group
and continuous ones are standardised to the published mean and SD, so that a 253-patient demo
reproduces Table 1 closely. Each kind of draw has its own random stream, so adding draws for one
purpose never changes another's, and the same ``seed`` always gives the same cohort.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from patients.clock import DAYS_PER_MONTH

# Liang et al., Table 1: monotherapy n = 182, combined n = 71 (253 in all).
STUDY_N = {"monotherapy": 182, "combined": 71}
STUDY_TOTAL = sum(STUDY_N.values())

# (mean, SD) per group, Table 1.
AGE = {"monotherapy": (62.93, 4.01), "combined": (63.31, 3.95)}  # years
BMI = {"monotherapy": (24.29, 2.74), "combined": (23.89, 2.49)}  # kg/m²
MONTHS_TO_AIMSS = {"monotherapy": (4.11, 1.45), "combined": (3.80, 1.57)}  # months
BASELINE_AVERAGE_PAIN = {"monotherapy": (5.52, 1.42), "combined": (6.23, 1.30)}  # BPI item 5
BASELINE_INTERFERENCE = {"monotherapy": (6.09, 1.32), "combined": (6.93, 1.36)}  # BPI item 9 mean

# Counts per group, Table 1 (scaled to the cohort size).
TNM = {
    "monotherapy": {"0-I": 100, "II": 68, "III": 14},
    "combined": {"0-I": 29, "II": 30, "III": 12},
}
CHEMOTHERAPY = {"monotherapy": 76, "combined": 39}
RADIOTHERAPY = {"monotherapy": 123, "combined": 51}
AI_DRUG = {
    "monotherapy": {"anastrozole": 161, "exemestane": 9, "letrozole": 12},
    "combined": {"anastrozole": 59, "exemestane": 6, "letrozole": 6},
}
SURGERY = {
    "monotherapy": {"lumpectomy": 112, "mastectomy": 70},
    "combined": {"lumpectomy": 41, "mastectomy": 30},
}

# Enrolment window of the study: AI started between these dates.
AI_START_FIRST = dt.date(2021, 11, 1)
AI_START_LAST = dt.date(2023, 11, 1)
# The demo's data ends here, whatever today is, so that the same seed gives the same cohort.
FOLLOW_UP_END = dt.date(2026, 11, 1)

# Demo telephone numbers: the clinic in London is in Ofcom's drama range (020 7946 0xxx); mobiles
# lie beside the phonenumbers library's example numbers (07400 123xxx, +86 10 1234 5678), because
# its validation refuses Ofcom's fictional mobile range. The demo's text messages go to the
# console backend only.
CLINICS = [
    {
        "code": "rbc",
        "name": "Riverside Breast Centre",
        "time_zone": "Europe/London",
        "phone": "+442079460000",
    },
    {
        "code": "hcc",
        "name": "Harbour City Cancer Centre",
        "time_zone": "Asia/Shanghai",
        "phone": "+861012345678",
    },
]
# Every fourth patient of the first clinic chose text messages beside e-mail for her reminders.
SMS_EVERY = 4
SHARE_FIRST_CLINIC = 0.65
SHARE_CHINESE_FIRST_CLINIC = 0.1
SHARE_CHINESE_SECOND_CLINIC = 0.8

GIVEN_NAMES = [
    "Alice",
    "Barbara",
    "Carol",
    "Diane",
    "Elaine",
    "Frances",
    "Gillian",
    "Helen",
    "Irene",
    "Janet",
    "Karen",
    "Linda",
    "Margaret",
    "Nora",
    "Olive",
    "Patricia",
    "Rosemary",
    "Susan",
    "Teresa",
    "Valerie",
    "Wendy",
    "Yvonne",
    "Angela",
    "Brenda",
    "Christine",
    "Deborah",
]
FAMILY_NAMES = [
    "Ashworth",
    "Bennett",
    "Carter",
    "Dawson",
    "Ellis",
    "Fletcher",
    "Graham",
    "Hughes",
    "Irving",
    "Jenkins",
    "Knight",
    "Lawson",
    "Morgan",
    "Norris",
    "Owens",
    "Parker",
    "Quinn",
    "Reid",
    "Shaw",
    "Turner",
    "Underwood",
    "Vaughan",
    "Walsh",
    "Young",
]
ZH_GIVEN_NAMES = [
    "秀英",
    "桂英",
    "玉兰",
    "淑珍",
    "丽华",
    "美玲",
    "慧敏",
    "静",
    "红梅",
    "春燕",
    "雪梅",
    "建华",
]
ZH_FAMILY_NAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "周",
    "吴",
    "徐",
    "孙",
    "林",
    "郭",
]


@dataclass(frozen=True)
class DemoProfile:
    index: int  # 1-based; patient N logs in as ``patientN``
    clinic_code: str
    group: str  # "monotherapy" or "combined": the management she will be given at diagnosis
    given_name: str
    family_name: str
    language: str
    birth_date: dt.date
    height_cm: Decimal
    weight_kg: Decimal
    tnm_stage: str
    surgery: str
    chemotherapy: bool
    radiotherapy: bool
    ai_drug: str
    ai_start_date: dt.date
    aimss_diagnosis_date: dt.date
    baseline_average_pain: int
    baseline_interference: float

    @property
    def record_number(self) -> str:
        return f"{self.clinic_code.upper()}-{self.index:05d}"

    @property
    def phone(self) -> str:
        """Her mobile: a demo number at the first clinic, none at the second, so the demo shows
        both a call link and its absence."""
        if self.clinic_code != CLINICS[0]["code"] or self.index >= 1000:
            return ""
        return f"+447400123{self.index:03d}"

    @property
    def reminder_channels(self) -> str:
        return "both" if self.phone and self.index % SMS_EVERY == 0 else "email"


def group_sizes(n_patients: int) -> dict[str, int]:
    combined = round(n_patients * STUDY_N["combined"] / STUDY_TOTAL)
    return {"monotherapy": n_patients - combined, "combined": combined}


def _allocate(counts: dict[str, int], n: int, rng: random.Random) -> list[str]:
    """``n`` labels in the proportions of ``counts`` (largest remainders), shuffled."""
    total = sum(counts.values())
    exact = {k: v * n / total for k, v in counts.items()}
    floors = {k: math.floor(x) for k, x in exact.items()}
    short = n - sum(floors.values())
    for k in sorted(exact, key=lambda k: exact[k] - floors[k], reverse=True)[:short]:
        floors[k] += 1
    labels = [k for k, c in floors.items() for _ in range(c)]
    rng.shuffle(labels)
    return labels


def _flags(yes: int, of: int, n: int, rng: random.Random) -> list[bool]:
    return [label == "yes" for label in _allocate({"yes": yes, "no": of - yes}, n, rng)]


def _normal(mean_sd: tuple[float, float], n: int, rng: random.Random) -> list[float]:
    """``n`` normal draws rescaled so that their sample mean and SD are exactly the target's."""
    mean, sd = mean_sd
    draws = [rng.gauss(0, 1) for _ in range(n)]
    if n < 2:
        return [mean + sd * d for d in draws]
    m = sum(draws) / n
    s = math.sqrt(sum((d - m) ** 2 for d in draws) / (n - 1)) or 1.0
    return [mean + sd * (d - m) / s for d in draws]


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _stream(seed: int, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{purpose}")  # nosec B311


def demo_profiles(n_patients: int, seed: int) -> list[DemoProfile]:
    """The demo cohort's profiles, deterministic for ``(n_patients, seed)``."""
    per_group: dict[str, dict[str, Sequence[object]]] = {}
    for group, size in group_sizes(n_patients).items():
        rng = _stream(seed, f"baseline-{group}")
        study_n = STUDY_N[group]
        per_group[group] = {
            "age": _normal(AGE[group], size, rng),
            "bmi": _normal(BMI[group], size, rng),
            "months": _normal(MONTHS_TO_AIMSS[group], size, rng),
            "pain": _normal(BASELINE_AVERAGE_PAIN[group], size, rng),
            "interference": _normal(BASELINE_INTERFERENCE[group], size, rng),
            "tnm": _allocate(TNM[group], size, rng),
            "chemo": _flags(CHEMOTHERAPY[group], study_n, size, rng),
            "radio": _flags(RADIOTHERAPY[group], study_n, size, rng),
            "drug": _allocate(AI_DRUG[group], size, rng),
            "surgery": _allocate(SURGERY[group], size, rng),
        }
    order_rng = _stream(seed, "order")
    slots = [(g, i) for g, size in group_sizes(n_patients).items() for i in range(size)]
    order_rng.shuffle(slots)

    person_rng = _stream(seed, "person")
    window_days = (AI_START_LAST - AI_START_FIRST).days
    profiles = []
    for index, (group, i) in enumerate(slots, start=1):
        values = per_group[group]
        # Patient 1 is always at the first clinic, so the demo logins meet there.
        first_clinic = index == 1 or person_rng.random() < SHARE_FIRST_CLINIC
        clinic = CLINICS[0] if first_clinic else CLINICS[1]
        chinese_share = SHARE_CHINESE_FIRST_CLINIC if first_clinic else SHARE_CHINESE_SECOND_CLINIC
        chinese = index != 1 and person_rng.random() < chinese_share
        if chinese:
            given, family, language = (
                person_rng.choice(ZH_GIVEN_NAMES),
                person_rng.choice(ZH_FAMILY_NAMES),
                "zh-hans",
            )
        else:
            given, family, language = (
                person_rng.choice(GIVEN_NAMES),
                person_rng.choice(FAMILY_NAMES),
                "en",
            )
        ai_start = AI_START_FIRST + dt.timedelta(days=person_rng.randrange(window_days + 1))
        months = _clip(float(values["months"][i]), 0.5, 12)  # type: ignore[arg-type]
        diagnosis = ai_start + dt.timedelta(days=round(months * DAYS_PER_MONTH))
        age = _clip(float(values["age"][i]), 45, 85)  # type: ignore[arg-type]
        birth = diagnosis - dt.timedelta(days=round(age * 365.25))
        height = Decimal(str(round(_clip(person_rng.gauss(158, 5.5), 140, 180), 1)))
        bmi_value = _clip(float(values["bmi"][i]), 16, 40)  # type: ignore[arg-type]
        weight = Decimal(str(round(bmi_value * float(height / 100) ** 2, 1)))
        profiles.append(
            DemoProfile(
                index=index,
                clinic_code=str(clinic["code"]),
                group=group,
                given_name=given,
                family_name=family,
                language=language,
                birth_date=birth,
                height_cm=height,
                weight_kg=weight,
                tnm_stage=str(values["tnm"][i]),
                surgery=str(values["surgery"][i]),
                chemotherapy=bool(values["chemo"][i]),
                radiotherapy=bool(values["radio"][i]),
                ai_drug=str(values["drug"][i]),
                ai_start_date=ai_start,
                aimss_diagnosis_date=diagnosis,
                baseline_average_pain=round(_clip(float(values["pain"][i]), 0, 10)),  # type: ignore[arg-type]
                baseline_interference=round(_clip(float(values["interference"][i]), 0, 10), 1),  # type: ignore[arg-type]
            )
        )
    return profiles
