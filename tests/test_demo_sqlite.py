"""`make run`'s embedded default works: SQLite, the in-memory broker, a seeded demo cohort.

The rest of the suite runs on PostgreSQL; this test migrates and seeds a small demo on SQLite in
separate processes and opens every role's main pages there, so that an ORM expression SQLite
cannot compile (it once broke the patient list) fails here rather than in a new user's demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import json, uuid
from django.test import Client
from patients.models import User
from assessments.models import ScoreSummary

def client(username):
    c = Client(HTTP_HOST="localhost")
    c.force_login(User.objects.get(username=username))
    return c

patient = User.objects.get(username="patient1").patient
clinician, nurse, researcher = client("clinician"), client("nurse"), client("researcher")
pages = [(clinician, f"/patients/?{q}") for q in (
    "sort=average", "sort=interference", "strategy=combined", "strategy=monotherapy",
    "strategy=none", "band=severe", "band=high_interference", "open_flags=1",
)]
pages += [
    (clinician, f"/patients/{patient.pk}/"),
    (clinician, f"/patients/{patient.pk}/record/intervention/"),
    (clinician, f"/api/v1/patients/{patient.pk}/trajectory/"),
    (nurse, "/queue/"),
    (nurse, "/api/v1/flags/"),
    (client("patient1"), "/me/"),
]
for c, path in pages:
    status = c.get(path).status_code
    assert status == 200, (path, status)
answer = client("patient1").post(
    "/api/v1/assessments/",
    json.dumps({
        "has_pain_today": True, "pain_locations": ["knees_left"], "worst_location": "knees_left",
        "worst_pain": 6, "least_pain": 2, "average_pain": 4, "pain_now": 3,
        "interference": {"mood": 5, "sleep": 6, "walking_ability": 4, "normal_work": 5},
    }),
    content_type="application/json",
    HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
)
assert answer.status_code == 201, answer.content
assert ScoreSummary.objects.get(patient=patient).latest_response_id == answer.json()["id"]
print("demo pages ok:", len(pages))
"""


def test_the_demo_runs_on_sqlite(tmp_path: Path) -> None:
    # given the demo's settings: a fresh SQLite file, the in-memory broker, no second factor
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_DEBUG": "true",
        "AIMSS_STAFF_MFA": "off",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 (this interpreter, our manage.py)
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    # when it is migrated and seeded, and every role opens her pages
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo", "--patients", "40")
    output = manage("shell", "-c", CHECK)
    # then every page answers and a submission is stored and summarised
    assert "demo pages ok" in output
