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
sender="burst-$RANDOM$RANDOM"
"${PYTHON:-.venv/bin/python}" deploy/check/burst.py "http://127.0.0.1:$WEB_PORT" "$KEY" 2000 "$sender" > "$CHECK_TMP/ids" &
burst=$!
stored() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d maas -Atc "SELECT count(*) FROM ingest_ingestrecord WHERE sender = '$sender'"; }
for _ in $(seq 120); do [ "$(stored)" -gt 0 ] && break; sleep 0.5; done
"${PODMAN[@]}" kill -s KILL "$PREFIX-check-worker" >/dev/null
ok "worker SIGKILLed with $(stored) of 2000 stored"
"${PODMAN[@]}" start "$PREFIX-check-worker" >/dev/null
wait $burst || fail "the burst was not accepted whole"
[ "$(wc -l < "$CHECK_TMP/ids")" = 2000 ] || fail "expected 2000 ids, got $(wc -l < "$CHECK_TMP/ids")"
for i in $(seq 180); do
    n=$(stored)
    [ "$n" -ge 2000 ] && break
    progress "$i" "waiting for the 2000 records to be stored ($n so far)"
    sleep 1
done
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d maas -Atc "SELECT uuid FROM ingest_ingestrecord WHERE sender = '$sender'" | sort > "$CHECK_TMP/stored"
sort "$CHECK_TMP/ids" > "$CHECK_TMP/accepted"
cmp -s "$CHECK_TMP/accepted" "$CHECK_TMP/stored" \
    || fail "accepted and stored differ: $(comm -23 "$CHECK_TMP/accepted" "$CHECK_TMP/stored" | wc -l) lost, $(( $(wc -l < "$CHECK_TMP/stored") - $(sort -u "$CHECK_TMP/stored" | wc -l) )) duplicated"
ok "all 2000 accepted records stored exactly once after the SIGKILL (0 lost, 0 duplicated)"

step "SIGTERM: web drains and exits 0, worker exits 0"
stop_and_expect_zero "$PREFIX-check-web" 30
stop_and_expect_zero "$PREFIX-check-worker" 45
ok "images: all checks passed"
