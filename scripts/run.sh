#!/usr/bin/env bash
# make run: migrate, seed the demo once, then run web, Celery worker and beat together.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export AIMSS_STAFF_MFA=${AIMSS_STAFF_MFA:-off}  # the demo; production keeps the second factor on
HOST=${AIMSS_HOST:-127.0.0.1}
PORT=${AIMSS_PORT:-8000}
# Every e-mail link and FHIR fullUrl starts with this (set AIMSS_BASE_URL to override).
export AIMSS_BASE_URL=${AIMSS_BASE_URL:-http://$HOST:$PORT}
# The demo runs with DEBUG off (friendly error pages, never Django's debug page) over plain
# http, with a secret key of its own kept in var/ (DJANGO_DEBUG=true brings the debug pages).
export DJANGO_DEBUG=${DJANGO_DEBUG:-false}
export AIMSS_PLAIN_HTTP_DEMO=true
export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-$HOST,localhost,127.0.0.1,[::1]}
mkdir -p var
if [[ -z "${DJANGO_SECRET_KEY:-}" ]]; then
  [[ -s var/demo-secret-key ]] || head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' > var/demo-secret-key
  DJANGO_SECRET_KEY=$(cat var/demo-secret-key)
  export DJANGO_SECRET_KEY
fi

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

  Staff second factor (TOTP): $( [[ $AIMSS_STAFF_MFA == off ]] && echo "off in this demo; AIMSS_STAFF_MFA=on make run turns it on" || echo on )
  E-mail links start with $AIMSS_BASE_URL; error pages are the product's own (DEBUG=$DJANGO_DEBUG)

MSG

$PY manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"
