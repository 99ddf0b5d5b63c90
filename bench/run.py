"""``make bench``: the server as production runs it, measured from this machine.

Starts gunicorn with ``DEBUG`` off on PostgreSQL (database ``aimss_bench`` unless
``BENCH_DATABASE_URL`` says otherwise), drives each scenario of ``bench/scenarios.py`` with
``--clients`` concurrent keep-alive connections for ``--seconds``, and writes requests/s and
latency percentiles as JSON (``bench/results/latest.json`` unless ``--out``). Every run measures
the two ceilings (a bare text view and a bare one-row insert) so that other endpoints are
reported as a ratio to them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios import SCENARIOS, TIMED_COMMANDS, Scenario  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/aimss_bench"
WARM_UP_LIMIT = 60.0  # seconds a scenario may take before every client has had two answers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
        "DJANGO_STATIC_ROOT": str(ROOT / "var" / "bench-static"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"),
        "AIMSS_BENCH": "true",
        # The bench measures throughput, not the API's per-user throttle.
        "AIMSS_API_RATE_USER": "1000000/minute",
        "AIMSS_STAFF_MFA": "off",
    }


def ensure_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def gunicorn_command(port: int, workers: int, threads: int) -> list[str]:
    """gunicorn as production runs it (gthread), on loopback."""
    return [
        *(sys.executable, "-m", "gunicorn", "aimss_tracker.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
        *("--worker-class", "gthread", "--threads", str(threads), "--log-level", "warning"),
    ]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on port {port} within {timeout} s")


def cpu_seconds(server_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by each process of the server (gunicorn's arbiter and workers)
    and of PostgreSQL (its backends and background workers), by pid, read from ``/proc``
    (Linux). A request's CPU is steadier than its latency on a shared machine, and it is what
    the 2 cores divide among the clients."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:  # the process ended while being read
            continue
        # After the command in parentheses: state, ppid, ..., utime (14th field), stime (15th).
        fields = stat.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(entry) == server_pid or int(fields[1]) == server_pid:
            used[int(entry)] = ("server", seconds)
        elif command.startswith("postgres"):
            used[int(entry)] = ("database", seconds)
    return used


def cpu_used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds each group used between two readings (a process that ended in between is
    not counted; one that started is counted whole)."""
    used = {"server": 0.0, "database": 0.0}
    for pid, (group, seconds) in after.items():
        earlier = before.get(pid)
        used[group] += seconds - (earlier[1] if earlier and earlier[0] == group else 0.0)
    return used


def drive(
    port: int, scenario: Scenario, clients: int, seconds: float, server_pid: int
) -> dict[str, Any]:
    """``clients`` threads, one keep-alive connection each, as fast as the server answers."""
    prepared = scenario.prepare(port, clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    answered = [0] * clients
    stop = threading.Event()
    measuring = threading.Event()

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while not stop.is_set():
            method, path, body, headers = prepared.request(i, n)
            n += 1
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status in scenario.ok_statuses
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = time.perf_counter() - start
            answered[i] += 1
            if measuring.is_set():
                latencies[i].append(elapsed)
                errors[i] += 0 if ok else 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    # Warm-up: connections, caches and lazy imports. Measuring starts once every client has had
    # an answer (a fresh worker's first request imports most of the application, seconds on a
    # slow machine, which would otherwise stall a client inside the measured window).
    time.sleep(min(2.0, seconds / 3))
    deadline = time.monotonic() + WARM_UP_LIMIT
    while any(done < 2 for done in answered) and time.monotonic() < deadline:
        time.sleep(0.05)
    measuring.set()
    cpu_before = cpu_seconds(server_pid)
    started = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    duration = time.perf_counter() - started
    cpu = cpu_used(cpu_before, cpu_seconds(server_pid))
    stop.set()
    for t in threads:
        t.join(timeout=35)
    all_latencies = sorted(x for per in latencies for x in per)
    count = len(all_latencies)

    def pct(p: float) -> float:
        if not all_latencies:
            return float("nan")
        return round(all_latencies[min(count - 1, int(p / 100 * count))] * 1000, 2)

    # Each keep-alive connection stays with the worker process that accepted it, so clients
    # sharing a busy process wait longer than the others: the spread of their medians shows it.
    medians = [statistics.median(per) * 1000 for per in latencies if per]
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "clients": clients,
        "seconds": round(duration, 2),
        "requests": count,
        "errors": sum(errors),
        "requests_per_second": round(count / duration, 1),
        "latency_ms": {
            "mean": round(statistics.fmean(all_latencies) * 1000, 2) if count else None,
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "max": round(all_latencies[-1] * 1000, 2) if count else None,
            "client_p50_range": [round(min(medians), 2), round(max(medians), 2)]
            if medians
            else None,
        },
        "cpu_ms_per_request": {
            name: round(seconds * 1000 / count, 2) if count else None
            for name, seconds in cpu.items()
        },
        **prepared.extra(),
    }


def add_goals_and_floor(results: list[dict[str, Any]]) -> None:
    """Each scenario's p95 against its goal, and its CPU (server + database) per request as a
    multiple of ``session_floor``'s: what the view itself adds to any logged-in request."""
    goals = {s.name: s.goal_p95_ms for s in SCENARIOS}

    def cpu_of(result: dict[str, Any]) -> float | None:
        cpu = result.get("cpu_ms_per_request") or {}
        if cpu.get("server") is None or cpu.get("database") is None:
            return None
        return float(cpu["server"]) + float(cpu["database"])

    floor = next((cpu_of(r) for r in results if r.get("scenario") == "session_floor"), None)
    for r in results:
        goal = goals.get(r.get("scenario", ""))
        if goal is not None:
            p95 = r["latency_ms"]["p95"]
            r["goal"] = {"p95_ms": goal, "met": p95 == p95 and p95 < goal}  # NaN: not met
        cpu = cpu_of(r)
        if floor and cpu is not None:
            r["cpu_x_session_floor"] = round(cpu / floor, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    # One client per core: the latency a user feels; more clients only measure queueing.
    parser.add_argument(
        "--clients", type=int, default=int(os.environ.get("BENCH_CLIENTS", os.cpu_count() or 2))
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 3)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 4)))
    parser.add_argument("--only", nargs="*", help="scenario names (ceilings always run)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    ensure_database(database_url)
    env = server_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")

    scenarios = [s for s in SCENARIOS if s.ceiling or not args.only or s.name in args.only]
    for scenario in scenarios:
        scenario.setup(env)

    port = free_port()
    server = subprocess.Popen(gunicorn_command(port, args.workers, args.threads), cwd=ROOT, env=env)
    try:
        wait_for(port)
        results = []
        for scenario in scenarios:
            result = drive(port, scenario, args.clients, args.seconds, server.pid)
            results.append(result)
            print(
                f"{result['scenario']:<28} {result['requests_per_second']:>8} req/s  "
                f"p50 {result['latency_ms']['p50']:>7} ms  p95 {result['latency_ms']['p95']:>7} ms"
                f"  cpu {result['cpu_ms_per_request']['server']:>6} + "
                f"{result['cpu_ms_per_request']['database']:>5} ms  errors {result['errors']}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    for command in TIMED_COMMANDS:
        if args.only and command[0] not in args.only and "timed" not in args.only:
            continue
        output = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for line in output.splitlines():
            if line.startswith("{"):
                timed = json.loads(line)
                results.append(timed)
                print(f"{timed['scenario']:<28} {timed['seconds']:>8} s", flush=True)

    add_goals_and_floor(results)
    ceilings = {
        r["scenario"]: r["requests_per_second"]
        for r in results
        if r["scenario"].startswith("ceiling")
    }
    for r in results:
        if "requests_per_second" not in r:
            continue
        for name, rps in ceilings.items():
            r[f"ratio_to_{name}"] = round(r["requests_per_second"] / rps, 3) if rps else None
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, DEBUG off, "
        "PostgreSQL",
        "clients": args.clients,
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(r.get("errors", 0) == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
