"""What ``make bench`` measures. Each scenario prepares its data, then yields requests.

Later features add their endpoints here; the two ceilings always run first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class Prepared:
    request: Callable[[int, int], Request]
    extra: Callable[[], dict[str, Any]] = dict


@dataclass
class Scenario:
    name: str
    description: str
    prepare: Callable[[int, int], Prepared]
    setup: Callable[[dict[str, str]], None] = lambda env: None
    ok_statuses: tuple[int, ...] = (200,)
    ceiling: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
    goal_p95_ms: float | None = None  # with one client per core: what a user feels


# The goals are what a user feels with the server otherwise idle (one client per core), not a
# throughput target: a page answered in these times feels immediate.
GOAL_P95_MS = {"submit_api": 20, "queue_page": 25, "patient_list": 35, "trajectory_page": 40}


def _fixed(method: str, path: str) -> Callable[[int, int], Prepared]:
    def prepare(port: int, clients: int) -> Prepared:
        return Prepared(request=lambda i, n: (method, path, None, {}))

    return prepare


SCENARIOS: list[Scenario] = [
    Scenario(
        name="ceiling_text",
        description="bare Django view returning a short text",
        prepare=_fixed("GET", "/bench/text/"),
        ceiling=True,
    ),
    Scenario(
        name="ceiling_insert",
        description="bare Django view inserting one row",
        prepare=_fixed("POST", "/bench/insert/"),
        ok_statuses=(201,),
        ceiling=True,
    ),
]


# --- submit_api: a patient POSTs a BPI-SF through the API (session + CSRF, Idempotency-Key) ---
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 (benchmark database only)
BENCH_PATIENTS = 32

_SETUP_CODE = f"""
import datetime as dt
from decimal import Decimal
from django.contrib.auth.hashers import make_password
from patients.models import Clinic, Patient, Role, User
clinic, _ = Clinic.objects.get_or_create(code="bench", defaults={{"name": "Bench clinic"}})
password = make_password({BENCH_PASSWORD!r})
for i in range({BENCH_PATIENTS}):
    user, _ = User.objects.get_or_create(
        username=f"bench-patient-{{i}}", defaults={{"role": Role.PATIENT, "password": password}}
    )
    Patient.objects.get_or_create(
        clinic=clinic, record_number=f"BENCH-{{i:03d}}",
        defaults=dict(
            user=user, given_name="Bench", family_name=f"Patient{{i}}",
            birth_date=dt.date(1961, 5, 14), height_cm=Decimal("160"), weight_kg=Decimal("62"),
            tnm_stage="II", surgery="lumpectomy", chemotherapy=False, radiotherapy=True,
            aimss_diagnosis_date=dt.date(2024, 3, 1),
        ),
    )
"""

SUBMISSION = {
    "recall_period": "24h",
    "has_pain_today": True,
    "pain_locations": ["hands_wrists_left", "hands_wrists_right", "knees_left"],
    "worst_location": "hands_wrists_left",
    "worst_pain": 7,
    "least_pain": 2,
    "average_pain": 5,
    "pain_now": 4,
    "treatments": "celecoxib 200 mg",
    "relief_percent": 40,
    "interference": {
        "general_activity": 6,
        "mood": 5,
        "walking_ability": 7,
        "normal_work": 6,
        "relations_with_others": 3,
        "sleep": 6,
        "enjoyment_of_life": 5,
    },
}


def _manage_setup(*args: str) -> Callable[[dict[str, str]], None]:
    def setup(env: dict[str, str]) -> None:
        import subprocess
        import sys
        from pathlib import Path

        root = Path(__file__).resolve().parent.parent
        subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, check=True)

    return setup


def _login(port: int, username: str) -> dict[str, str]:
    """Log in through the login form; the cookies and CSRF header of that session."""
    import http.client
    import re
    from http.cookies import SimpleCookie
    from urllib.parse import urlencode

    def cookies_of(response: http.client.HTTPResponse) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return {name: morsel.value for name, morsel in jar.items()}

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    page = conn.getresponse()
    html = page.read().decode()
    cookies = cookies_of(page)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the login page"
    body = urlencode(
        {"username": username, "password": BENCH_PASSWORD, "csrfmiddlewaretoken": match[1]}
    )
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    answer = conn.getresponse()
    answer.read()
    cookies.update(cookies_of(answer))
    conn.close()
    # production names them __Host-sessionid and __Host-csrftoken
    session = next((k for k in cookies if k.endswith("sessionid")), None)
    csrf = next((k for k in cookies if k.endswith("csrftoken")), None)
    if answer.status != 302 or session is None or csrf is None:
        raise RuntimeError(f"bench login failed ({answer.status})")
    return {
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "X-CSRFToken": cookies[csrf],
        "Content-Type": "application/json",
    }


def _submit_prepare(port: int, clients: int) -> Prepared:
    import json
    import uuid

    sessions = [_login(port, f"bench-patient-{i % BENCH_PATIENTS}") for i in range(clients)]
    body = json.dumps(SUBMISSION).encode()

    def request(i: int, n: int) -> Request:
        headers = {**sessions[i], "Idempotency-Key": str(uuid.uuid4())}
        return ("POST", "/api/v1/assessments/", body, headers)

    return Prepared(request=request)


SCENARIOS.append(
    Scenario(
        name="submit_api",
        description="a patient submits a BPI-SF through POST /api/v1/assessments/",
        prepare=_submit_prepare,
        setup=_manage_setup("shell", "-c", _SETUP_CODE),
        ok_statuses=(201,),
        goal_p95_ms=GOAL_P95_MS["submit_api"],
    )
)


def _session_floor_prepare(port: int, clients: int) -> Prepared:
    sessions = [_login(port, f"bench-patient-{i % BENCH_PATIENTS}") for i in range(clients)]
    return Prepared(request=lambda i, n: ("GET", "/bench/text/", None, sessions[i]))


# Not a ceiling: what any logged-in request costs before its view does anything (the session,
# the user with her patient record, and the middleware that guards them), to read the others by.
SCENARIOS.append(
    Scenario(
        name="session_floor",
        description="the bare text view requested with a patient's session (session, user and "
        "the security middleware, no work of its own)",
        prepare=_session_floor_prepare,
        setup=_manage_setup("shell", "-c", _SETUP_CODE),
    )
)

# --- clinician views: the trajectory page and the patient list (bench_clinical) ---------------


def _queue_prepare(port: int, clients: int) -> Prepared:
    sessions = [_login(port, "bench-nurse") for _ in range(clients)]

    def request(i: int, n: int) -> Request:
        return ("GET", "/queue/", None, sessions[i])

    return Prepared(request=request)


def _get_page(username: str, path_of: Callable[[int], str]) -> Callable[[int, int], Prepared]:
    """GET one page as ``username``; ``extra`` reports the HTML size of one answer."""

    def prepare(port: int, clients: int) -> Prepared:
        import http.client
        import re

        sessions = [_login(port, username) for _ in range(clients)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/patients/?q=BENCH-TRAJ-1", headers=sessions[0])
        listing = conn.getresponse().read().decode()
        match = re.search(r'href="/patients/(\d+)/"', listing)
        pk = int(match[1]) if match else 0
        path = path_of(pk)
        conn.request("GET", path, headers=sessions[0])
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        size = {"html_bytes": len(body), "status": answer.status, "path_shape": path_of(0)}

        return Prepared(request=lambda i, n: ("GET", path, None, sessions[i]), extra=lambda: size)

    return prepare


SCENARIOS.append(
    Scenario(
        name="queue_page",
        description="nurse flag queue, first page, 50,000 open flags across 12,500 patients",
        prepare=_queue_prepare,
        setup=_manage_setup("bench_followup", "queue-data"),
        goal_p95_ms=GOAL_P95_MS["queue_page"],
    )
)

SCENARIOS.append(
    Scenario(
        name="trajectory_page",
        description="a clinician opens a patient's trajectory page (520 weekly responses, "
        "60 events, regimen changes and interventions, 52 check-ins); HTML < 150 KB without "
        "plotly.js",
        prepare=_get_page("bench-clinician", lambda pk: f"/patients/{pk}/"),
        setup=_manage_setup("bench_clinical", "trajectory-data"),
        notes={"target_html_bytes": 150_000},
        goal_p95_ms=GOAL_P95_MS["trajectory_page"],
    )
)
SCENARIOS.append(
    Scenario(
        name="patient_list",
        description="a clinician opens the patient list of a clinic of 10,000 patients "
        "(sorted by latest average pain)",
        prepare=_get_page("bench-list-clinician", lambda pk: "/patients/?sort=average"),
        setup=_manage_setup("bench_clinical", "list-data"),
        goal_p95_ms=GOAL_P95_MS["patient_list"],
    )
)

# Timed commands: each prints one JSON object with at least "scenario" and "seconds".
# cohort_report is timed apart, by `manage.py bench_analytics [--sizes 253 10000]` on a database
# of its own: it reseeds with `seed_demo --reset`, which would erase the data above.
TIMED_COMMANDS: list[list[str]] = [
    ["bench_followup", "sweep"],
    # import_cohort of 100,000 patients, then cohort_report over them (issue 21)
    ["bench_import", "--rows", "100000"],
]
