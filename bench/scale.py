"""``make bench-scale``: how the cost of the busiest requests grows with the cohort.

For each size in ``BENCH_SCALE`` (patients, default "10000 1000000") it builds a database of its
own (``aimss_bench_scale_<size>``, dropped first unless ``BENCH_SCALE_REUSE=true`` keeps what an
earlier run built; ``manage.py bench_scale build``), its patients in clinics of
``BENCH_SCALE_CLINIC_SIZE`` (10,000; staff see their clinic's), measures the first clinic's
patient list, the queue and a submission with one client per core (p50 and p95, as
``make bench``), and times the reminder sweep with a tenth of the patients due, run by one
worker process per core (as the Celery pool runs it: the sweep task spreads itself). It writes
``bench/results/scale.json``: each size's figures, and the ratio of the largest size's p50 to
the smallest's (the goal: within 1.25x) and the sweep against its 120 s goal. Not part of CI: a
million patients take several minutes to build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    drive,
    ensure_database,
    free_port,
    gunicorn_command,
    manage,
    server_env,
    wait_for,
)
from bench.scenarios import SCENARIOS  # noqa: E402

MEASURED = ("patient_list", "queue_page", "submit_api")
P50_GROWTH_GOAL = 1.25  # largest size's p50 over the smallest's
SWEEP_GOAL_SECONDS = 120


def recreate_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def timed(env: dict[str, str], *args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("{")))


def measure(size: int, seconds: float, clients: int) -> dict[str, Any]:
    base = os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")
    database_url = f"{base}/aimss_bench_scale_{size}"
    if os.environ.get("BENCH_SCALE_REUSE", "").lower() in ("1", "true", "yes"):
        ensure_database(database_url)  # keep what an earlier run built (a million take minutes)
    else:
        recreate_database(database_url)
    env = server_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    clinic_size = os.environ.get("BENCH_SCALE_CLINIC_SIZE", "10000")
    build = timed(
        env, "bench_scale", "build", "--patients", str(size), "--clinic-size", clinic_size
    )
    print(f"{size:>9} patients built in {build['seconds']} s", flush=True)
    port = free_port()
    server = subprocess.Popen(gunicorn_command(port, clients + 1, 4), cwd=ROOT, env=env)
    results = {}
    try:
        wait_for(port)
        for scenario in (s for s in SCENARIOS if s.name in MEASURED):
            result = drive(port, scenario, clients, seconds, server.pid)
            results[scenario.name] = {
                "p50_ms": result["latency_ms"]["p50"],
                "p95_ms": result["latency_ms"]["p95"],
                "requests": result["requests"],
                "errors": result["errors"],
                "cpu_ms_per_request": result["cpu_ms_per_request"],
            }
            print(f"{size:>9} {scenario.name:<14} p50 {result['latency_ms']['p50']} ms", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    sweep = timed(env, "bench_scale", "sweep", "--workers", str(clients))
    print(
        f"{size:>9} reminder sweep: {sweep['due']} due in {sweep['seconds']} s "
        f"on {clients} workers",
        flush=True,
    )
    return {
        "patients": size,
        "build_seconds": build["seconds"],
        "requests": results,
        "sweep": sweep,
    }


def main() -> int:
    sizes = [
        int(s) for s in os.environ.get("BENCH_SCALE", "10000 1000000").replace(",", " ").split()
    ]
    seconds = float(os.environ.get("BENCH_SECONDS", 10))
    clients = int(os.environ.get("BENCH_CLIENTS", os.cpu_count() or 2))
    runs = [measure(size, seconds, clients) for size in sorted(sizes)]
    smallest, largest = runs[0], runs[-1]
    growth = {
        name: round(largest["requests"][name]["p50_ms"] / smallest["requests"][name]["p50_ms"], 2)
        for name in MEASURED
        if smallest["requests"].get(name, {}).get("p50_ms")
    }
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "clients": clients,
        "sizes": runs,
        "p50_growth": growth,
        "p50_growth_goal": P50_GROWTH_GOAL,
        "p50_growth_met": all(ratio <= P50_GROWTH_GOAL for ratio in growth.values()),
        "sweep_goal_seconds": SWEEP_GOAL_SECONDS,
        "sweep_met": largest["sweep"]["seconds"] < SWEEP_GOAL_SECONDS,
    }
    out = ROOT / "bench" / "results" / "scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"p50 growth {growth}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
