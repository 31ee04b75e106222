# The two commands a new machine needs:  make run  and  make test.
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# make run is a machine's own demo: webhooks may reach a receiver on this machine
# (the setting's default, elsewhere, refuses private and loopback targets).
WEBHOOKS_ALLOW_PRIVATE_TARGETS ?= true
# Where gunicorn's workers and the task worker write their metrics (GET /metrics
# adds them up; prometheus-client's multiprocess mode), emptied at each start.
METRICS_DIR ?= $(CURDIR)/var/metrics

.PHONY: run test venv lint format migrations-check messages bench

## Run the service on http://$(HOST):$(PORT) (embedded SQLite + local cache unless
## DATABASE_URL / REDIS_URL are set): venv, migrate, demo data, then the Procfile's three
## processes under honcho: gunicorn (gunicorn.conf.py: uvicorn workers, Django in a few
## threads each), the task worker (db_worker) and the schedule (crontask).
run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	BIND=$(HOST):$(PORT) $(PY) manage.py seed_demo
	rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH BIND=$(HOST):$(PORT) \
	    WEBHOOKS_ALLOW_PRIVATE_TARGETS=$(WEBHOOKS_ALLOW_PRIVATE_TARGETS) \
	    PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) \
	    $(VENV)/bin/honcho -f Procfile start

## Run the whole test suite against Postgres and Redis (see scripts/test).
test:
	scripts/test $(ARGS)

venv:
	scripts/bootstrap

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: venv
	$(PY) manage.py makemigrations --check --dry-run

## Regenerate the zh-hant and zh-hans catalogues from the code (GNU gettext's
## xgettext), compile them, and list what is left to translate (README, "Languages").
messages: venv
	$(PY) -m couponsite.catalogues; status=$$?; $(PY) scripts/compilemessages && exit $$status

## Benchmark on gunicorn + Postgres + Redis, loopback only (see docs/performance.md):
##   make bench   |   make bench SCENARIO=rush-30000   |   make bench BENCH_ARGS=--write-docs
##   make bench SCENARIO=rush-300 TOPOLOGY=cluster   (single | proxy | cluster; bench/topology.py)
TOPOLOGY ?= single
bench: venv
	scripts/services-up
	$(PY) -m bench $(SCENARIO) --topology $(TOPOLOGY) $(BENCH_ARGS)
