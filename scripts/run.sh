#!/usr/bin/env bash
# make run: migrate, seed the demo once, then run web, Celery worker and beat together.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export AIMSS_STAFF_MFA=${AIMSS_STAFF_MFA:-off}  # the demo; production keeps the second factor on
HOST=${AIMSS_HOST:-127.0.0.1}
PORT=${AIMSS_PORT:-8000}

$PY manage.py migrate --noinput
$PY manage.py seed_demo

pids=()
cleanup() {
  trap - EXIT INT TERM
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

$PY -m celery -A aimss_tracker worker --loglevel=INFO --concurrency=2 --hostname="worker@%h" &
pids+=($!)
$PY -m celery -A aimss_tracker beat --loglevel=INFO &
pids+=($!)

cat <<MSG

  AIMSS Tracker is starting at  http://$HOST:$PORT/
  (web, Celery worker and Celery beat; e-mail is printed here; Ctrl-C stops everything)

  Demo logins, password: ${AIMSS_DEMO_PASSWORD:-aimss-demo-2026}
    patient1 ... patient253   patients (patient1 is at Riverside Breast Centre)
    nurse, clinician          Riverside Breast Centre
    nurse2, clinician2        Harbour City Cancer Centre
    researcher                both clinics, de-identified
    admin                     everything (also /admin/)

MSG

$PY manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"
