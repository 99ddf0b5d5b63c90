"""``make load``: patients submitting and nurses working the queue, on one machine.

gunicorn (DEBUG off) + PostgreSQL + Redis + a Celery worker, all on loopback. 200 patients
submit BPI-SF questionnaires (a quarter of them with high interference) and check-ins through
the API while 20 nurses load the queue page and claim, act on and resolve flags through the API,
for ``--seconds`` (60 by default). It then checks: no errors (a 409 for a flag another nurse
claimed first is the product working, and counted apart), no lost or duplicated rows (every 201
is one stored response, and nothing else is stored), at most one unresolved flag of a kind per
patient, and a flat task backlog (Redis queue length sampled every second). Writes
``bench/results/load.json``; exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessments.instrument import EXPECTED_INTERFERENCE as ITEMS  # noqa: E402
from bench.run import (  # noqa: E402
    DEFAULT_DB,
    ensure_database,
    free_port,
    gunicorn_command,
    manage,
    server_env,
    wait_for,
)

PATIENTS, NURSES = 200, 20
BROKER = os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/13")

SETUP = """
import datetime as dt, json, secrets
from decimal import Decimal
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from patients.models import Clinic, Patient, Role, User
from patients.services import user_create
from assessments.models import Response
from adherence.models import AdherenceCheckIn
from followup.models import Flag
clinic, _ = Clinic.objects.get_or_create(code="load", defaults={"name": "Load clinic"})
Flag.objects.filter(clinic=clinic).delete()
password = make_password(secrets.token_urlsafe(16))
def session_for(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "patients.backends.UserBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key
sessions = {"patients": [], "nurses": []}
for i in range(%(patients)d):
    user = User.objects.filter(username=f"load-patient-{i}").first() or User.objects.create(
        username=f"load-patient-{i}", role=Role.PATIENT, password=password)
    Patient.objects.get_or_create(clinic=clinic, record_number=f"LOAD-{i:04d}", defaults=dict(
        user=user, given_name="Load", family_name=f"Patient{i}", birth_date=dt.date(1961, 1, 1),
        height_cm=Decimal("160"), weight_kg=Decimal("62"), tnm_stage="II", surgery="lumpectomy",
        chemotherapy=False, radiotherapy=True, aimss_diagnosis_date=dt.date(2024, 3, 1)))
    sessions["patients"].append(session_for(user))
for i in range(%(nurses)d):
    user = User.objects.filter(username=f"load-nurse-{i}").first() or user_create(
        username=f"load-nurse-{i}", role=Role.NURSE, password_hash=password, clinics=[clinic])
    sessions["nurses"].append(session_for(user))
print(json.dumps(sessions))
"""

COUNT = """
import json
from django.db.models import Count
from assessments.models import Response
from adherence.models import AdherenceCheckIn
from followup.models import Flag
from patients.models import Clinic
clinic = Clinic.objects.get(code="load")
dupes = (Flag.objects.filter(clinic=clinic).exclude(status="resolved")
         .values("patient_id", "kind").annotate(n=Count("id")).filter(n__gt=1).count())
print(json.dumps({
    "responses": Response.objects.filter(patient__clinic=clinic).count(),
    "check_ins": AdherenceCheckIn.objects.filter(patient__clinic=clinic).count(),
    "flags": Flag.objects.filter(clinic=clinic).count(),
    "unresolved_duplicates": dupes,
}))
"""


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.latencies: dict[str, list[float]] = {}

    def add(self, what: str, seconds: float | None = None) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            if seconds is not None:
                self.latencies.setdefault(what, []).append(seconds)


def shell_json(env: dict[str, str], code: str) -> Any:
    """Run ``code`` in ``manage.py shell``; the JSON its last printed line holds."""
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(shell.stdout.strip().splitlines()[-1])


def _headers(session_key: str, csrf: str) -> dict[str, str]:
    return {
        "Cookie": f"__Host-sessionid={session_key}; __Host-csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Content-Type": "application/json",
    }


def _call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
) -> tuple[int, bytes]:
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    answer = conn.getresponse()
    return answer.status, answer.read()


def patient_loop(
    port: int, keys: list[str], stop: threading.Event, stats: Stats, seed: int
) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    csrf = secrets.token_hex(16)
    while not stop.is_set():
        headers = _headers(rng.choice(keys), csrf)
        high = rng.random() < 0.25
        body = {
            "recall_period": "24h",
            "has_pain_today": True,
            "pain_locations": ["knees_left"],
            "worst_location": "knees_left",
            "worst_pain": 8,
            "least_pain": 2,
            "average_pain": rng.randint(2, 8),
            "pain_now": 4,
            "treatments": "",
            "relief_percent": 40,
            "interference": {k: (rng.randint(7, 10) if high else rng.randint(0, 6)) for k in ITEMS},
        }
        started = time.perf_counter()
        status, _ = _call(
            conn,
            "POST",
            "/api/v1/assessments/",
            {**headers, "Idempotency-Key": str(uuid.uuid4())},
            body,
        )
        stats.add(
            "submit_201" if status == 201 else f"submit_{status}", time.perf_counter() - started
        )
        if rng.random() < 0.2:
            check_in = {
                "days_taken_last_7": rng.randint(3, 7),
                "stopped": False,
                "wants_to_stop": False,
                "reason": "",
                "side_effects": "",
            }
            status, _ = _call(conn, "POST", "/api/v1/check-ins/", headers, check_in)
            stats.add("check_in_201" if status == 201 else f"check_in_{status}")
        time.sleep(rng.uniform(0.5, 2.0))  # think time
    conn.close()


def nurse_loop(port: int, key: str, stop: threading.Event, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = _headers(key, secrets.token_hex(16))
    while not stop.is_set():
        started = time.perf_counter()
        status, _ = _call(conn, "GET", "/queue/", headers)
        stats.add(
            "queue_200" if status == 200 else f"queue_{status}", time.perf_counter() - started
        )
        status, body = _call(conn, "GET", "/api/v1/flags/?status=open", headers)
        stats.add("flags_200" if status == 200 else f"flags_{status}")
        results = json.loads(body).get("results", []) if status == 200 else []
        if results:
            flag = rng.choice(results[:5])
            status, _ = _call(conn, "POST", f"/api/v1/flags/{flag['id']}/claim/", headers, {})
            if status == 409:
                stats.add("claim_conflict_409")  # another nurse was first: expected
            elif status == 200:
                stats.add("claim_200")
                s1, _ = _call(
                    conn,
                    "POST",
                    f"/api/v1/flags/{flag['id']}/actions/",
                    headers,
                    {"action": "called_patient", "note": "load"},
                )
                s2, _ = _call(
                    conn, "POST", f"/api/v1/flags/{flag['id']}/resolve/", headers, {"note": "load"}
                )
                stats.add("act_200" if s1 == 200 else f"act_{s1}")
                stats.add("resolve_200" if s2 == 200 else f"resolve_{s2}")
            else:
                stats.add(f"claim_{status}")
        time.sleep(rng.uniform(0.2, 1.0))
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 60)))
    parser.add_argument("--patient-threads", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    ensure_database(database_url)
    env = {
        **server_env(database_url),
        "CELERY_BROKER_URL": BROKER,
        "AIMSS_API_RATE_USER": "100000/minute",
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    sessions = shell_json(env, SETUP % {"patients": PATIENTS, "nurses": NURSES})
    before = shell_json(env, COUNT)
    import redis

    broker = redis.Redis.from_url(BROKER)
    broker.delete("celery")
    port = free_port()
    server = subprocess.Popen(gunicorn_command(port, 3, 8), cwd=ROOT, env=env)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "aimss_tracker",
            "worker",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
    )
    stats, stop = Stats(), threading.Event()
    backlog: list[int] = []
    try:
        wait_for(port)
        threads = [
            threading.Thread(target=patient_loop, args=(port, sessions["patients"], stop, stats, i))
            for i in range(args.patient_threads)
        ]
        threads += [
            threading.Thread(target=nurse_loop, args=(port, key, stop, stats, 1000 + i))
            for i, key in enumerate(sessions["nurses"])
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            backlog.append(int(broker.llen("celery")))
            time.sleep(1)
        stop.set()
        for t in threads:
            t.join(timeout=40)
        drain_deadline = time.monotonic() + 30
        while broker.llen("celery") and time.monotonic() < drain_deadline:
            time.sleep(0.5)
        backlog.append(int(broker.llen("celery")))
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=30)
        worker.wait(timeout=30)
    after = shell_json(env, COUNT)
    errors = {k: v for k, v in stats.counts.items() if not k.endswith(("_200", "_201", "_409"))}
    stored = after["responses"] - before["responses"]
    submitted = stats.counts.get("submit_201", 0)
    half = max(1, len(backlog) // 2)
    checks = {
        "no_errors": not errors,
        "no_lost_or_duplicated_responses": stored == submitted,
        "no_lost_or_duplicated_check_ins": after["check_ins"] - before["check_ins"]
        == stats.counts.get("check_in_201", 0),
        "one_unresolved_flag_per_kind": after["unresolved_duplicates"] == 0,
        "backlog_flat": max(backlog[half:], default=0)
        <= max(20, 2 * max(backlog[:half], default=0))
        and backlog[-1] == 0,
    }

    def p95(xs: list[float]) -> float | None:
        return round(sorted(xs)[int(0.95 * (len(xs) - 1))] * 1000, 1) if xs else None

    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": args.seconds,
        "patients": PATIENTS,
        "nurses": NURSES,
        "patient_threads": args.patient_threads,
        "counts": stats.counts,
        "errors": errors,
        "submit_p95_ms": p95(stats.latencies.get("submit_201", [])),
        "queue_p95_ms": p95(stats.latencies.get("queue_200", [])),
        "submissions_per_second": round(submitted / args.seconds, 1),
        "stored_responses": stored,
        "flags_created": after["flags"] - before["flags"],
        "backlog_samples": backlog,
        "checks": checks,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "counts",
                    "submit_p95_ms",
                    "queue_p95_ms",
                    "submissions_per_second",
                    "checks",
                )
            },
            indent=1,
        )
    )
    print(f"wrote {out}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
