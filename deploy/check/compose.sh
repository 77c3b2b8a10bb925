#!/usr/bin/env bash
# deploy-check, compose: deploy/compose.yaml brought up by `make up`'s script (deploy/compose/up.sh)
# on ports of PORT_BASE+90..98, as project $PREFIX-check-compose. Proves: healthchecks and depends_on
# bring the stack up in order (postgres → migrate → api, worker), a paid meme served, an ingest
# record stored by the worker container through the RabbitMQ container, a SIGKILL of the worker
# container during a 2,000-record burst loses and duplicates nothing, `down -v` removes the
# containers and the volumes. The images are podman's cached layers of images.sh's build.
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/check/lib.sh

project=$PREFIX-check-compose
export COMPOSE_PROJECT=$project MAAS_IMAGE_PREFIX=$PREFIX MAAS_INGEST_QUEUE=$QUEUE-compose
export MAAS_RABBITMQ_PASSWORD=$RABBITMQ_PASSWORD MAAS_RABBIT_NODENAME=$project@localhost
export MAAS_WEB_PORT=$((PORT_BASE + 90)) MAAS_PG_PORT=$((PORT_BASE + 91)) MAAS_REDIS_PORT=$((PORT_BASE + 92))
export MAAS_AMQP_PORT=$((PORT_BASE + 93)) MAAS_RABBIT_HTTP_PORT=$((PORT_BASE + 94))
export MAAS_RABBIT_METRICS_PORT=$((PORT_BASE + 95)) MAAS_RABBIT_DIST_PORT=$((PORT_BASE + 96))
export MAAS_RABBIT_EPMD_PORT=$((PORT_BASE + 97)) MAAS_WORKER_METRICS_PORT=$((PORT_BASE + 98))
api=${project}_api_1 worker=${project}_worker_1
# Under run.sh, images.sh has just built the app image: up.sh tags it instead of building it again.
[ "${MAAS_CHECK_IMAGES_BUILT:-}" != 1 ] || export MAAS_APP_IMAGE=$APP_IMAGE
psql_maas() { psql -h 127.0.0.1 -p "$MAAS_PG_PORT" -U postgres -d maas -Atc "$1"; }

step "make up (project $project, api :$MAAS_WEB_PORT)"
deploy/compose/up.sh
ok "stack up: migrate exited 0, api ready"

step "sample catalogue and a paying client (in the api container)"
"${PODMAN[@]}" exec "$api" python3 manage.py import_memes memes/sample/sample_memes.csv --languages memes/sample/sample_languages.csv
KEY=$("${PODMAN[@]}" exec -i "$api" python3 manage.py shell < deploy/check/smoke_setup.py | sed -n 's/^KEY=//p' | tail -1)
[ -n "$KEY" ] || fail "no API key from smoke_setup.py"
base=http://127.0.0.1:$MAAS_WEB_PORT
smoke_paid_meme "$base" "$KEY"
smoke_ingest "$base" "$KEY"

step "SIGKILL of the worker container during a 2,000-record burst"
burst_kill_and_verify "$base" "$KEY" "$worker" psql_maas

step "make down with volumes"
deploy/compose/down.sh -v
left=$("${PODMAN[@]}" ps -a --format '{{.Names}}' | grep -c "^$project" || true)
vols=$("${PODMAN[@]}" volume ls --format '{{.Name}}' | grep -c "^$project" || true)
[ "$left" = 0 ] && [ "$vols" = 0 ] || fail "left after down -v: $left containers, $vols volumes"
ok "compose: all checks passed (no container, no volume left)"
