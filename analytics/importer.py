"""``manage.py import_cohort FILE.csv``: a retrospective cohort in the study's own shape.

One row per patient (columns in :data:`COLUMNS`). Every row is validated first and every
problem is reported as ``line N, field X: message``; nothing is written unless every row is
good, and then everything is written in one transaction, a ``COPY`` a table, under one audit
context naming the import. A patient is identified by her clinic's
code and ``patient_ref`` (stored as the record number); a row already imported unchanged is
skipped, so importing the same file twice changes nothing, while a changed row is an error
(corrections are made in the application, where they are audited).

What each row becomes:

- a ``Patient`` without a login (her name is the placeholder "Imported" + reference: the file
  carries no names), her ``AiCourse``, one ``Intervention`` per initial category on the
  diagnosis date (a representative measure of the maintained list per category);
- BPI-SF responses on the diagnosis date and 91 days later, entered by the inactive service
  account ``cohort-import`` and marked ``imported``: item 5 is the given average pain and the
  interference score is the given one, kept exactly (two decimals at most; a third is refused,
  never rounded). Nothing else is stored: items 1-4, 6 and 9 A-G and the severity score stay
  empty, since the file does not give them; the band is the given average pain's;
- the event: ``aimss_discontinuation`` is a permanent discontinuation for AIMSS with explicit
  termination; ``recurrence`` and ``death`` are those events; ``other_discontinuation`` is a
  permanent discontinuation for another reason (not an event: censored on its date, or
  excluded, as the report's setting says);
- her last follow-up date, an :class:`adherence.models.ExternalFollowUp` the survival selector
  reads as a contact.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from adherence.models import (
    AiCourse,
    Drug,
    EventKind,
    ExternalFollowUp,
    Intervention,
    InterventionCategory,
    Measure,
    StopReason,
    TreatmentEvent,
)
from assessments import scoring
from assessments.models import EntryMode, Response
from assessments.selectors import instrument_current
from assessments.summaries import score_summaries_refresh
from patients.models import (
    BMI_MAX,
    BMI_MIN,
    HEIGHT_CM_MAX,
    HEIGHT_CM_MIN,
    WEIGHT_KG_MAX,
    WEIGHT_KG_MIN,
    Clinic,
    Patient,
    Role,
    Surgery,
    TnmStage,
    User,
    bmi,
)
from patients.rules import rules_of

from .models import ImportedPatient

COLUMNS = (
    "patient_ref",
    "clinic",
    "birth_date",
    "height_cm",
    "weight_kg",
    "tnm_stage",
    "surgery",
    "chemotherapy",
    "radiotherapy",
    "ai_drug",
    "ai_start_date",
    "aimss_diagnosis_date",
    "initial_categories",
    "baseline_average_pain",
    "baseline_interference",
    "month3_average_pain",
    "month3_interference",
    "event_type",
    "event_date",
    "last_followup_date",
)
TNM = {
    "0": TnmStage.STAGE_0_I,
    "I": TnmStage.STAGE_0_I,
    "II": TnmStage.STAGE_II,
    "III": TnmStage.STAGE_III,
}
YES_NO = {"yes": True, "no": False}
EVENT_TYPES = ("none", "aimss_discontinuation", "recurrence", "death", "other_discontinuation")
# A representative measure of each category (adherence.models.Measure, the maintained list).
CATEGORY_MEASURE = {
    InterventionCategory.ANALGESIC: Measure.CELECOXIB,
    InterventionCategory.PHYSICAL_THERAPY: Measure.PHYSIOTHERAPY,
    InterventionCategory.AI_ADJUSTMENT: Measure.DOSE_REDUCTION,
    InterventionCategory.COMPLEMENTARY: Measure.VITAMIN_D,
}
MONTH_3_DAYS = 91  # the month-3 response: 91 days after the diagnosis
ANSWER_TIME = dt.time(10, 0)  # UTC
IMPORT_USERNAME = "cohort-import"
BULK_BATCH = 2000  # rows per INSERT of a bulk write where there is no COPY (the SQLite demo)
FIELD_MAX_CHARS = 100  # no column of the study's shape needs more (record numbers take 32)
KEY_NAMESPACE = uuid.UUID("5f1f3d0e-55a4-4f51-9a53-7d1d0c4c2a11")


@dataclass
class ImportRow:
    line: int
    values: dict[str, Any]
    sha256: str


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    created: int = 0
    unchanged: int = 0


class _Row:
    """Field-by-field parsing of one CSV row, collecting ``line N, field X: message``."""

    def __init__(self, line: int, raw: dict[str, str], errors: list[str]) -> None:
        self.line, self.raw, self.errors = line, raw, errors

    def error(self, name: str, message: str) -> None:
        self.errors.append(f"line {self.line}, field {name}: {message}")

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = (self.raw.get(name) or "").strip()
        if not value:
            if required:
                self.error(name, "required")
            return None
        return value

    def date(self, name: str, *, required: bool = True) -> dt.date | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.error(name, f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def decimal(
        self, name: str, low: Decimal, high: Decimal, *, required: bool = True
    ) -> Decimal | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.error(name, f"{value!r} is not a number")
            return None
        if not (number.is_finite() and low <= number <= high):
            self.error(name, f"{value} is outside {low}-{high}")
            return None
        return number

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        if value not in options:
            self.error(name, f"{value!r} is not one of {', '.join(options)}")
            return None
        return value


def _parse(
    line: int, raw: dict[str, str], clinics: dict[str, Clinic], errors: list[str]
) -> ImportRow | None:
    row = _Row(line, raw, errors)
    before = len(errors)
    values: dict[str, Any] = {"patient_ref": row.text("patient_ref")}
    if values["patient_ref"] and len(values["patient_ref"]) > 32:
        row.error("patient_ref", "longer than 32 characters")
    code = row.text("clinic")
    values["clinic"] = clinics.get(code or "")
    if code and values["clinic"] is None:
        row.error("clinic", f"no clinic with code {code!r}")
    values["birth_date"] = row.date("birth_date")
    height = row.decimal("height_cm", Decimal(HEIGHT_CM_MIN), Decimal(HEIGHT_CM_MAX))
    weight = row.decimal("weight_kg", Decimal(WEIGHT_KG_MIN), Decimal(WEIGHT_KG_MAX))
    if height is not None and weight is not None and not BMI_MIN <= bmi(height, weight) <= BMI_MAX:
        row.error("weight_kg", f"height {height} cm and weight {weight} kg give an impossible BMI")
    values["height_cm"], values["weight_kg"] = height, weight
    stage = row.choice("tnm_stage", TNM)
    values["tnm_stage"] = TNM.get(stage or "")
    values["surgery"] = row.choice("surgery", Surgery.values)
    for name in ("chemotherapy", "radiotherapy"):
        values[name] = YES_NO.get(row.choice(name, YES_NO) or "")
    values["ai_drug"] = row.choice("ai_drug", Drug.values)
    ai_start = values["ai_start_date"] = row.date("ai_start_date")
    dx = values["aimss_diagnosis_date"] = row.date("aimss_diagnosis_date")
    today = timezone.localdate()
    if dx and values["birth_date"] and dx <= values["birth_date"]:
        row.error("aimss_diagnosis_date", "not after the birth date")
    if dx and dx > today:
        row.error("aimss_diagnosis_date", "in the future")
    if dx and ai_start and ai_start > dx:
        row.error("ai_start_date", "after the AIMSS diagnosis")
    categories = [c.strip() for c in (row.text("initial_categories") or "").split(";") if c.strip()]
    unknown = [c for c in categories if c not in InterventionCategory.values]
    if unknown:
        row.error("initial_categories", f"unknown categories: {', '.join(unknown)}")
    elif len(set(categories)) != len(categories):
        row.error("initial_categories", "a category is listed twice")
    values["initial_categories"] = sorted(set(categories))
    zero, ten = Decimal(0), Decimal(10)
    for name in ("baseline_average_pain", "month3_average_pain"):
        value = row.decimal(name, zero, ten, required=name.startswith("baseline"))
        if value is not None and value != value.to_integral_value():
            row.error(name, "item 5 is a whole number 0-10")
        values[name] = None if value is None else int(value)
    values["baseline_interference"] = row.decimal("baseline_interference", zero, ten)
    values["month3_interference"] = row.decimal("month3_interference", zero, ten, required=False)
    for name in ("baseline_interference", "month3_interference"):
        value = values[name]
        if value is not None and value != value.quantize(scoring.SCORE_PLACES):
            row.error(name, f"{value} has more than two decimals (scores are kept as given)")
    if (values["month3_average_pain"] is None) != (values["month3_interference"] is None):
        row.error("month3_interference", "give both month-3 scores or neither")
    event = values["event_type"] = row.choice("event_type", EVENT_TYPES)
    event_date = values["event_date"] = row.date("event_date", required=event not in (None, "none"))
    if event == "none" and event_date:
        row.error("event_date", "an event date without an event")
    last = values["last_followup_date"] = row.date("last_followup_date")
    if dx and event_date and event_date < dx:
        row.error("event_date", "before the AIMSS diagnosis")
    if dx and last and last < dx:
        row.error("last_followup_date", "before the AIMSS diagnosis")
    if last and last > today:
        row.error("last_followup_date", "in the future")
    if event_date and last and event_date > last:
        row.error("event_date", "after the last follow-up")
    if len(errors) > before:
        return None
    canonical = "|".join(f"{name}={(raw.get(name) or '').strip()}" for name in COLUMNS)
    return ImportRow(line, values, hashlib.sha256(canonical.encode()).hexdigest())


def _import_user() -> User:
    user, created = User.objects.get_or_create(
        username=IMPORT_USERNAME,
        defaults={"role": Role.ADMIN, "is_active": False, "password": make_password(None)},
    )
    return user


def _response(
    patient: Patient,
    *,
    day: dt.date,
    average: int,
    interference: Decimal,
    kind: str,
    user: User,
    instrument: Any,
) -> Response:
    """An imported response: item 5 and the interference score as the file gives them, every
    other item empty (never copied from another), marked ``EntryMode.IMPORTED``. Its band is
    that of the given average pain and its high-interference flag that of the given score (the
    clinic's cut-points, on the exact values)."""
    thresholds = rules_of(patient.clinic)
    return Response(
        patient=patient,
        instrument=instrument,
        has_pain_today=None,
        worst_pain=None,
        least_pain=None,
        average_pain=average,
        pain_now=None,
        pain_severity_score=None,
        interference_score=interference,
        pain_band=scoring.pain_band(average, thresholds),
        interference_high=scoring.is_high_interference(interference, thresholds),
        submitted_at=dt.datetime.combine(day, ANSWER_TIME, tzinfo=dt.UTC),
        entry_mode=EntryMode.IMPORTED,
        entered_by=user,
        submission_key=uuid.uuid5(
            KEY_NAMESPACE, f"{patient.clinic.code}:{patient.record_number}:{kind}"
        ),
    )


def _patient(row: ImportRow) -> Patient:
    v = row.values
    patient = Patient(
        clinic=v["clinic"],
        record_number=v["patient_ref"],
        given_name="Imported",
        family_name=v["patient_ref"],
        birth_date=v["birth_date"],
        height_cm=v["height_cm"],
        weight_kg=v["weight_kg"],
        tnm_stage=v["tnm_stage"],
        surgery=v["surgery"],
        chemotherapy=v["chemotherapy"],
        radiotherapy=v["radiotherapy"],
        aimss_diagnosis_date=v["aimss_diagnosis_date"],
        time_zone=v["clinic"].time_zone,
    )
    # Field rules row by row; the clinic was looked up once for the file, uniqueness checked
    # for the whole file above, and the database's constraints hold the transaction to it
    # (no query per row).
    patient.full_clean(
        exclude=["user", "clinic"], validate_unique=False, validate_constraints=False
    )
    return patient


def _event(patient: Patient, event: str, when: dt.date) -> TreatmentEvent | None:
    if event == "aimss_discontinuation":
        return TreatmentEvent(
            patient=patient,
            kind=EventKind.DISCONTINUATION,
            reason=StopReason.AIMSS,
            explicit_aimss_termination=True,
            start_date=when,
            note="imported",
        )
    if event == "other_discontinuation":
        # not an event of the endpoint: she is censored on this date (adherence.selectors)
        return TreatmentEvent(
            patient=patient,
            kind=EventKind.DISCONTINUATION,
            reason=StopReason.OTHER,
            start_date=when,
            note="imported",
        )
    if event in ("recurrence", "death"):
        return TreatmentEvent(patient=patient, kind=event, start_date=when, note="imported")
    return None


def _create_all(rows: list[ImportRow], user: User, instrument: Any) -> list[int]:
    """Every new row's records, written model by model in bulk (the caller's transaction
    makes it all or nothing); the new patients' ids."""
    patients = [_patient(row) for row in rows]
    for patient, pk in zip(patients, _new_ids(Patient, len(patients)), strict=True):
        patient.pk = pk
    _write(Patient, patients)
    courses: list[AiCourse] = []
    interventions: list[Intervention] = []
    responses: list[Response] = []
    events: list[TreatmentEvent] = []
    follow_ups: list[ExternalFollowUp] = []
    records: list[ImportedPatient] = []
    for row, patient in zip(rows, patients, strict=True):
        v = row.values
        dx: dt.date = v["aimss_diagnosis_date"]
        courses.append(AiCourse(patient=patient, drug=v["ai_drug"], start_date=v["ai_start_date"]))
        interventions += [
            Intervention(
                patient=patient,
                category=c,
                measure=CATEGORY_MEASURE[c],
                start_date=dx,
                note="imported",
            )
            for c in v["initial_categories"]
        ]
        responses.append(
            _response(
                patient,
                day=dx,
                average=v["baseline_average_pain"],
                interference=v["baseline_interference"],
                kind="baseline",
                user=user,
                instrument=instrument,
            )
        )
        if v["month3_average_pain"] is not None:
            responses.append(
                _response(
                    patient,
                    day=dx + dt.timedelta(days=MONTH_3_DAYS),
                    average=v["month3_average_pain"],
                    interference=v["month3_interference"],
                    kind="month3",
                    user=user,
                    instrument=instrument,
                )
            )
        event = _event(patient, v["event_type"], v["event_date"])
        if event is not None:
            events.append(event)
        follow_ups.append(
            ExternalFollowUp(patient=patient, last_follow_up_date=v["last_followup_date"])
        )
        records.append(ImportedPatient(patient=patient, row_sha256=row.sha256))
    _write(AiCourse, courses)
    _write(Intervention, interventions)
    _write(Response, responses)
    _write(TreatmentEvent, events)
    _write(ExternalFollowUp, follow_ups)
    _write(ImportedPatient, records)
    return [int(p.pk) for p in patients]


def _new_ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` ids from the table's own sequence (the patients' rows are written with them, so
    that their courses and responses can point at them before they are written)."""
    if connection.vendor != "postgresql":
        start = (model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0) + 1
        return list(range(start, start + n))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, n],
        )
        return [row[0] for row in cursor.fetchall()]


def _write(model: type[models.Model], objects: list[Any]) -> None:
    """Insert ``objects`` (built, validated, unsaved) into ``model``'s table: one ``COPY`` on
    PostgreSQL, a bulk INSERT elsewhere (the SQLite demo). COPY fires the same triggers as
    INSERT (the statement-level audit), and skips Django's compiling of 600,000 parameters
    and psycopg's quoting of them, which took most of the import's time."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects, batch_size=BULK_BATCH)
        return
    with_pk = objects[0].pk is not None
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    now = timezone.now()
    getters = [_value_of(field, now) for field in fields]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        # the psycopg cursor under Django's wrapper; constant names only are formatted in
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # nosec B608
            for obj in objects:
                copy.write_row([get(obj) for get in getters])


def _value_of(field: models.Field[Any, Any], now: dt.datetime) -> Any:
    """How to read ``field``'s database value from an unsaved object, cheaply: its attribute,
    except the creation timestamps Django fills in on save, JSON, and choices."""
    name = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: now
    if isinstance(field, models.JSONField):
        return lambda obj: Jsonb(getattr(obj, name))
    if isinstance(field, models.CharField | models.TextField):
        # a TextChoices member is written as its value
        return lambda obj: None if (v := getattr(obj, name)) is None else str(v)
    return lambda obj: getattr(obj, name)


def _read_text(path: Path, errors: list[str]) -> str | None:
    """The file as text, or None with the line of its first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as wrong:
        line = data[: wrong.start].count(b"\n") + 1
        errors.append(
            f"line {line}, field (file): byte 0x{data[wrong.start]:02x} is not UTF-8; "
            "save the file as CSV UTF-8"
        )
        return None


def _records(reader: csv.DictReader[str], errors: list[str]) -> Iterable[dict[str, str]]:
    """The rows of ``reader``; a row with a value beyond the header's columns, or a field
    longer than ``FIELD_MAX_CHARS``, is reported (line and field) instead."""
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as malformed:  # a NUL byte, an unclosed quote, a field over csv's limit
            # the reader has not counted the line it failed on
            errors.append(f"line {reader.line_num + 1}, field (row): {malformed}")
            return
        extra = raw.pop(None, None)
        if extra:
            errors.append(
                f"line {reader.line_num}, field (extra): {len(extra)} value(s) beyond the "
                f"{len(reader.fieldnames or [])} columns of the header"
            )
            continue
        long = [name for name, value in raw.items() if len(value or "") > FIELD_MAX_CHARS]
        errors.extend(
            f"line {reader.line_num}, field {name}: longer than {FIELD_MAX_CHARS} characters"
            for name in long
        )
        if not long:
            yield raw


def _audit_context(**metadata: Any) -> None:
    """Name the import in every audit event of the current transaction.

    The variables ``pghistory.context(...)`` would set, set once: pghistory's context manager
    prefixes every statement with them, which makes psycopg quote each 2,000-row INSERT's
    parameters into the SQL text (a third of the import's time). The audit triggers read them
    as they would read pghistory's (one context row, its id on every event row).
    """
    if connection.vendor != "postgresql":  # the SQLite demo records no audit
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', %s, true), "
            "set_config('pghistory.context_metadata', %s, true)",
            [str(uuid.uuid4()), json.dumps({"command": "import_cohort", **metadata})],
        )


def cohort_import(*, path: Path) -> ImportResult:
    """Validate every row of the CSV at ``path``; if all are good, import the new ones."""
    result = ImportResult()
    clinics = {c.code: c for c in Clinic.objects.all()}
    rows: list[ImportRow] = []
    text = _read_text(path, result.errors)
    if text is None:
        return result
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as malformed:
        result.errors.append(f"line 1, field (header): {malformed}")
        return result
    missing = [c for c in COLUMNS if c not in header]
    result.errors.extend(f"line 1, field {c}: missing column" for c in missing)
    result.errors.extend(
        f"line 1, field {c}: the column appears {header.count(c)} times"
        for c in sorted({c for c in header if header.count(c) > 1})
    )
    if result.errors:
        return result
    seen: dict[tuple[str, str], int] = {}
    for raw in _records(reader, result.errors):
        parsed = _parse(reader.line_num, raw, clinics, result.errors)
        if parsed is None:
            continue
        key = (parsed.values["clinic"].code, parsed.values["patient_ref"])
        if key in seen:
            result.errors.append(
                f"line {parsed.line}, field patient_ref: already on line {seen[key]}"
            )
            continue
        seen[key] = parsed.line
        rows.append(parsed)
    existing = {
        (p.clinic.code, p.record_number): p
        for p in Patient.objects.filter(
            clinic__in={r.values["clinic"].pk for r in rows},
            record_number__in=[r.values["patient_ref"] for r in rows],
        ).select_related("clinic", "import_record")
    }
    new_rows = []
    for row in rows:
        patient = existing.get((row.values["clinic"].code, row.values["patient_ref"]))
        if patient is None:
            new_rows.append(row)
            continue
        record = getattr(patient, "import_record", None)
        if record is None:
            result.errors.append(
                f"line {row.line}, field patient_ref: "
                "a patient with this reference is already in the clinic"
            )
        elif record.row_sha256 != row.sha256:
            result.errors.append(
                f"line {row.line}, field patient_ref: imported before with other values; "
                "correct her record in the application"
            )
        else:
            result.unchanged += 1
    if result.errors:
        return result
    # One transaction: all or nothing.
    with transaction.atomic():
        _audit_context(file=path.name, rows=len(new_rows))
        user = _import_user() if new_rows else None
        instrument = instrument_current() if new_rows else None
        if new_rows:
            assert user is not None
            created = _create_all(new_rows, user, instrument)
            score_summaries_refresh(patient_ids=created)
    result.created = len(new_rows)
    return result
