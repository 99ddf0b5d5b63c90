# AIMSS Tracker. A new user needs two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(PYTHON) -m uv

# Tests run against the local PostgreSQL and Redis, as production does.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/aimss
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	DJANGO_DEBUG=true AIMSS_STAFF_MFA=off
# The deployment check runs with production-like settings.
DEPLOY_ENV := DJANGO_DEBUG=false DJANGO_SECRET_KEY=deploy-check-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	DJANGO_ALLOWED_HOSTS=aimss.example.org DATABASE_URL=$(TEST_DATABASE_URL) \
	CELERY_BROKER_URL=$(TEST_BROKER_URL) CACHE_URL=$(TEST_BROKER_URL)

.PHONY: install run test lint typecheck migrations-check deploy-check schema-check security-check pytest test-browser test-faults bench bench-import bench-scale bench-report load clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

run: install
	@scripts/run.sh

test: install lint typecheck migrations-check deploy-check schema-check security-check pytest test-browser test-faults

# ruff, and import-linter's contracts in pyproject.toml: the apps depend one way.
lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck:
	AIMSS_BENCH=true $(VENV)/bin/mypy .

migrations-check:
	AIMSS_BENCH=true $(PY) manage.py makemigrations --check --dry-run

deploy-check:
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING

# The OpenAPI schema validates, without a single warning from drf-spectacular.
schema-check:
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# bandit over the product's code (findings fixed, or explained inline with `# nosec` and in
# pyproject's [tool.bandit]); pip-audit of the locked dependencies whenever a vulnerability
# database (PyPI's JSON API or OSV) can be reached from this machine.
APP_PACKAGES := aimss_tracker patients assessments adherence followup clinical analytics interop demo
security-check:
	$(VENV)/bin/bandit -q -c pyproject.toml -r $(APP_PACKAGES)
	@$(UV) export --frozen --no-hashes --all-groups --format requirements-txt -q > var/requirements-audit.txt
	@if curl -sf -o /dev/null --max-time 5 https://pypi.org/pypi/django/5.2/json; then \
	  $(VENV)/bin/pip-audit -r var/requirements-audit.txt --disable-pip --no-deps --progress-spinner off; \
	else echo "pip-audit: no vulnerability database is reachable from this machine; dependencies not audited"; fi

# The unit suite runs on one pytest-xdist worker per core (at most 4), each with a test database
# and a Redis database of its own (tests/conftest.py); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
pytest:
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The three journeys in Chromium (Debian's /usr/bin/chromium), with axe-core, in English and
# Simplified Chinese, at 360 and 1280 px; screenshots go to var/screenshots/ (not committed).
test-browser:
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) -m browser tests/browser $(PYTEST_ARGS)

# Fault tests run a Redis of their own on FAULTS_REDIS_PORT (started and stopped by the tests),
# so the machine's Redis and PostgreSQL stay as they were; they need redis-server on the PATH.
FAULTS_REDIS_PORT ?= 6391
test-faults:
	@if command -v redis-server >/dev/null; then \
	  DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)}_faults \
	  CELERY_BROKER_URL=redis://127.0.0.1:$(FAULTS_REDIS_PORT)/0 DJANGO_DEBUG=true AIMSS_STAFF_MFA=off \
	  $(PY) -m pytest -m faults tests/faults $(PYTEST_ARGS); \
	else echo "test-faults: redis-server not found; fault tests need it" >&2; exit 1; fi

bench: install
	$(PY) bench/run.py
	$(PY) bench/browser.py

# import_cohort of 100,000 generated patients alone (the import half of make bench's bench_import):
# one JSON line with the seconds; on a bench database (DATABASE_URL), which it grows each run.
bench-import: install
	AIMSS_BENCH=true $(PY) manage.py bench_import --rows 100000 --import-only

# How cost grows with the cohort: BENCH_SCALE="10000 1000000" (patients), one database each.
bench-scale: install
	$(PY) bench/scale.py

# cohort_report over BENCH_REPORT_PATIENTS (100,000) imported patients on a database of its own
# (built once by COPY, reused by later runs); one JSON line to bench/results/report.json.
BENCH_REPORT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/aimss_bench_report
BENCH_REPORT_PATIENTS ?= 100000
BENCH_REPORT_ENV := DATABASE_URL=$(BENCH_REPORT_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	AIMSS_BENCH=true DJANGO_DEBUG=true AIMSS_STAFF_MFA=off
bench-report: install
	@mkdir -p bench/results
	$(PY) -c "import psycopg, sys; url = sys.argv[1]; name = url.rsplit('/', 1)[1]; \
	c = psycopg.connect(url.rsplit('/', 1)[0] + '/postgres', autocommit=True); \
	c.execute('SELECT 1 FROM pg_database WHERE datname = %s', [name]).fetchone() or c.execute(f'CREATE DATABASE \"{name}\"')" \
	  $(BENCH_REPORT_DATABASE_URL)
	$(BENCH_REPORT_ENV) $(PY) manage.py migrate --noinput -v 0
	$(BENCH_REPORT_ENV) $(PY) manage.py bench_report build --patients $(BENCH_REPORT_PATIENTS)
	$(BENCH_REPORT_ENV) $(PY) manage.py bench_report time | tee bench/results/report.json

# A bounded load test on loopback (see bench/load.py); writes bench/results/load.json.
load: install
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) var/*.sqlite3* var/broker
