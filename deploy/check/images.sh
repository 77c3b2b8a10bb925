#!/usr/bin/env bash
# deploy-check, images: lint both Dockerfiles, build the bases (cached) and both images, then run
# them here: RabbitMQ (read-only root), migrations, the web server and the worker from the app image
# (read-only root), against a PostgreSQL and a Redis of this script's own on the host. Proves: a
# paid meme served by the container, an ingest record stored by the containerised worker through
# the containerised RabbitMQ, HEALTHCHECK green, SIGTERM → exit 0.
#
# Environment: IMAGE_PREFIX (maas), PORT_BASE (18400: uses PORT_BASE+0..99), PODMAN_ARGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/check/lib.sh

step "hadolint"
"$DEPLOY_BIN/hadolint" deploy/Dockerfile deploy/rabbitmq/Dockerfile deploy/pgbouncer/Dockerfile

step "base images (Debian bookworm, cached)"
deploy/images/base.sh

step "build $APP_IMAGE and $RABBITMQ_IMAGE"
build_images

step "services of our own: PostgreSQL :$PG_PORT, Redis :$REDIS_PORT, RabbitMQ container :$AMQP_PORT"
start_host_postgres
start_host_redis
start_rabbitmq "$PREFIX-check-rabbitmq"

step "migrate, sample catalogue, a paying client (one-off containers)"
app_run --rm "$APP_IMAGE" python3 manage.py migrate --noinput --verbosity 0
app_run --rm -v "$PWD/memes/sample:/sample:ro" "$APP_IMAGE" python3 manage.py import_memes /sample/sample_memes.csv --languages /sample/sample_languages.csv
KEY=$(app_run --rm -i "$APP_IMAGE" python3 manage.py shell < deploy/check/smoke_setup.py | sed -n 's/^KEY=//p' | tail -1)
[ -n "$KEY" ] || fail "no API key from smoke_setup.py"

step "web and worker containers (read-only root filesystem)"
app_run -d --name "$PREFIX-check-web" -e PORT="$WEB_PORT" "$APP_IMAGE" >/dev/null
app_run -d --name "$PREFIX-check-worker" "$APP_IMAGE" deploy/worker >/dev/null
wait_http "http://127.0.0.1:$WEB_PORT/api/ready" 120
smoke_paid_meme "http://127.0.0.1:$WEB_PORT" "$KEY"
smoke_ingest "http://127.0.0.1:$WEB_PORT" "$KEY"
"${PODMAN[@]}" healthcheck run "$PREFIX-check-web" >/dev/null || fail "HEALTHCHECK of the web container is not healthy"
ok "HEALTHCHECK healthy"
"${PODMAN[@]}" healthcheck run "$PREFIX-check-rabbitmq" >/dev/null || fail "HEALTHCHECK of the RabbitMQ container is not healthy"
ok "RabbitMQ HEALTHCHECK healthy"
[ "$(podman_user "$PREFIX-check-web")" != 0 ] || fail "the web container runs as root"
compilers=$("${PODMAN[@]}" exec "$PREFIX-check-web" sh -c 'for c in gcc cc c++ g++ clang make; do command -v "$c"; done' || true)
[ -z "$compilers" ] || fail "compiler in the final image: $compilers"
ok "web runs as uid $(podman_user "$PREFIX-check-web"), read-only root, no compiler in the image"

step "SIGKILL of the worker container during a 2,000-record burst"
psql_check() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d maas -Atc "$1"; }
burst_kill_and_verify "http://127.0.0.1:$WEB_PORT" "$KEY" "$PREFIX-check-worker" psql_check

step "SIGTERM: web drains and exits 0, worker exits 0"
stop_and_expect_zero "$PREFIX-check-web" 30
stop_and_expect_zero "$PREFIX-check-worker" 45
ok "images: all checks passed"
