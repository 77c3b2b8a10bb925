# Shared by deploy/check/*.sh (sourced). Everything started here is stopped by the EXIT trap: our
# own containers (by name, prefix $PREFIX-check-), our own PostgreSQL and Redis (by PID).
PREFIX=${IMAGE_PREFIX:-maas}
PORT_BASE=${PORT_BASE:-18400}
PG_PORT=$((PORT_BASE + 32)) REDIS_PORT=$((PORT_BASE + 79)) AMQP_PORT=$((PORT_BASE + 72))
RABBIT_HTTP_PORT=$((PORT_BASE + 73)) RABBIT_METRICS_PORT=$((PORT_BASE + 74)) WEB_PORT=$((PORT_BASE + 80))
DEPLOY_BIN=${DEPLOY_BIN:-$PWD/.venv-deploy/bin}
read -r -a PODMAN <<< "podman ${PODMAN_ARGS:---runtime runc --cgroup-manager cgroupfs}"
APP_IMAGE=localhost/$PREFIX-app:check
RABBITMQ_IMAGE=localhost/$PREFIX-rabbitmq:check
RABBITMQ_PASSWORD=check-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
QUEUE=${PREFIX}-check
# nproc must not exceed `ulimit -u` (setrlimit fails otherwise), nofile not the hard open-files limit.
NPROC=$(( $(ulimit -u) < 4096 ? $(ulimit -u) : 4096 ))
NOFILE=$(ulimit -Hn)
ULIMITS=(--ulimit "nproc=$NPROC:$NPROC" --ulimit "nofile=$NOFILE:$NOFILE")
CHECK_TMP=$(mktemp -d "/tmp/$PREFIX-check.XXXXXX")
CHECK_PIDS=()
KUBE_PLAYED=()  # files given to `podman kube play` (kubeplay.sh): `podman kube down` on exit
export PORT_BASE IMAGE_PREFIX=$PREFIX

step() { printf '\n== deploy-check [%4ds] %s\n' "$SECONDS" "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() { printf '   FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
    local status=$?
    if [ $status -ne 0 ]; then
        for c in $("${PODMAN[@]}" ps -a --format '{{.Names}}' | grep "^$PREFIX-check-" || true); do
            echo "--- logs of $c (last 40 lines)"; "${PODMAN[@]}" logs --tail 40 "$c" 2>&1 || true
        done
    fi
    for f in "${KUBE_PLAYED[@]}"; do "${PODMAN[@]}" kube down "$f" >/dev/null 2>&1 || true; done
    for p in $("${PODMAN[@]}" pod ls --format '{{.Name}}' | grep "^$PREFIX-check-" || true); do
        "${PODMAN[@]}" pod rm -f -t 2 "$p" >/dev/null 2>&1 || true
    done
    for c in $("${PODMAN[@]}" ps -a --format '{{.Names}}' | grep "^$PREFIX-check-" || true); do
        "${PODMAN[@]}" rm -f -t 2 "$c" >/dev/null 2>&1 || true
    done
    for v in $("${PODMAN[@]}" volume ls --format '{{.Name}}' | grep "^$PREFIX-check-" || true); do
        "${PODMAN[@]}" volume rm -f "$v" >/dev/null 2>&1 || true
    done
    for pid in "${CHECK_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${CHECK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$CHECK_TMP"
    exit $status
}
trap cleanup EXIT

build_images() {
    local certs=()
    # Our network re-signs PyPI's TLS certificate: hand pip the host's CA bundle, mounted for the
    # build only (never in a layer).
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        certs=(-v /etc/ssl/certs:/host-certs:ro --build-arg PIP_CERT=/host-certs/ca-certificates.crt)
    fi
    "${PODMAN[@]}" build -q --format docker --network host "${certs[@]}" \
        --build-arg BASE_IMAGE="localhost/$PREFIX-base-python:bookworm" \
        -f deploy/Dockerfile -t "$APP_IMAGE" . >/dev/null
    ok "built $APP_IMAGE ($("${PODMAN[@]}" image inspect --format '{{.Size}}' "$APP_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
    "${PODMAN[@]}" build -q --format docker \
        --build-arg RABBITMQ_IMAGE="localhost/$PREFIX-base-rabbitmq:bookworm" \
        -f deploy/rabbitmq/Dockerfile -t "$RABBITMQ_IMAGE" . >/dev/null
    ok "built $RABBITMQ_IMAGE"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

start_host_postgres() {  # a throwaway cluster, as the postgres user (initdb refuses root)
    local bin dir=$CHECK_TMP/pg
    bin=$(pg_bin)
    mkdir -p "$dir" && chown postgres "$dir" "$CHECK_TMP" 2>/dev/null || true
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
    runuser -u postgres -- "$bin/postgres" -D "$dir/data" -p "$PG_PORT" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c fsync=off -c max_connections=100 > "$CHECK_TMP/postgres.log" 2>&1 &
    CHECK_PIDS+=($!)
    for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.5; done
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || fail "PostgreSQL did not start: $(tail -5 "$CHECK_TMP/postgres.log")"
    createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres maas
    ok "PostgreSQL on :$PG_PORT"
}

start_host_redis() {
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no > "$CHECK_TMP/redis.log" 2>&1 &
    CHECK_PIDS+=($!)
    for _ in $(seq 30); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.3; done
    [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || fail "Redis did not start"
    ok "Redis on :$REDIS_PORT"
}

start_rabbitmq() {  # start_rabbitmq NAME: read-only root, data on a volume, the queue declared up front
    "${PODMAN[@]}" run -d --name "$1" --read-only --tmpfs /tmp "${ULIMITS[@]}" \
        -v "$1-data:/var/lib/rabbitmq" \
        -p "127.0.0.1:$AMQP_PORT:5672" -p "127.0.0.1:$RABBIT_HTTP_PORT:15672" -p "127.0.0.1:$RABBIT_METRICS_PORT:15692" \
        -e RABBITMQ_USER=maas -e RABBITMQ_PASSWORD="$RABBITMQ_PASSWORD" -e MAAS_QUEUES="$QUEUE" \
        "$RABBITMQ_IMAGE" >/dev/null
    check_rabbitmq
}

check_rabbitmq() {  # a RabbitMQ on $AMQP_PORT/$RABBIT_HTTP_PORT/$RABBIT_METRICS_PORT as the image promises
    for i in $(seq 120); do
        curl -fsS -o /dev/null -u "maas:$RABBITMQ_PASSWORD" "http://127.0.0.1:$RABBIT_HTTP_PORT/api/queues/%2F/$QUEUE" 2>/dev/null && break
        progress "$i" "waiting for RabbitMQ to declare $QUEUE"
        sleep 1
    done
    curl -fsS -o /dev/null -u "maas:$RABBITMQ_PASSWORD" "http://127.0.0.1:$RABBIT_HTTP_PORT/api/queues/%2F/$QUEUE" \
        || fail "RabbitMQ did not declare $QUEUE"
    curl -fsS -o /dev/null -u "maas:$RABBITMQ_PASSWORD" "http://127.0.0.1:$RABBIT_HTTP_PORT/api/queues/%2F/$QUEUE.XQ" \
        || fail "no dead-letter queue $QUEUE.XQ"
    if curl -fsS -o /dev/null -u guest:guest "http://127.0.0.1:$RABBIT_HTTP_PORT/api/whoami" 2>/dev/null; then
        fail "the guest user exists"
    fi
    # Saved to a file, then grepped: `curl | grep -q` under pipefail fails whenever grep exits at its
    # first match while curl is still writing (curl gets SIGPIPE) — what failed on a loaded machine.
    fetch_until "http://127.0.0.1:$RABBIT_METRICS_PORT/metrics" 60 "$CHECK_TMP/rabbitmq-metrics.txt"
    grep -q '^rabbitmq_' "$CHECK_TMP/rabbitmq-metrics.txt" || fail "no rabbitmq_ series in the Prometheus metrics"
    ok "RabbitMQ: user maas (no guest), $QUEUE + .DQ + .XQ declared, Prometheus metrics on :$RABBIT_METRICS_PORT"
}

# The app containers: host network (our PostgreSQL and Redis listen on 127.0.0.1), read-only root
# filesystem with /tmp in memory (the drain flag), non-root (the image's USER).
app_run() {
    "${PODMAN[@]}" run --network host --read-only --tmpfs /tmp "${ULIMITS[@]}" \
        -e DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/maas" \
        -e REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        -e BROKER_URL="amqp://maas:$RABBITMQ_PASSWORD@127.0.0.1:$AMQP_PORT/%2F" \
        -e INGEST_QUEUE="$QUEUE" -e DJANGO_SECRET_KEY=deploy-check-not-secret \
        -e DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1 -e WORKER_PROCESSES=1 -e WEB_WORKERS=1 \
        "$@"
}

podman_user() { "${PODMAN[@]}" exec "$1" id -u; }

progress() {  # progress I WHAT: a line every 10th try of a once-a-second wait
    [ $(($1 % 10)) -ne 0 ] || printf '   ... %s (%d s)\n' "$2" "$1"
}

wait_http() {  # wait_http URL SECONDS
    for i in $(seq "$2"); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        progress "$i" "waiting for $1"
        sleep 1
    done
    fail "$1 did not answer 200 within $2 s"
}

fetch_until() {  # fetch_until URL SECONDS FILE: GET URL into FILE, retried once a second until it answers 200
    for i in $(seq "$2"); do
        curl -fsS -o "$3" "$1" 2>/dev/null && return 0
        progress "$i" "waiting for $1"
        sleep 1
    done
    fail "$1 did not answer 200 within $2 s"
}

json_get() { python3 -c "import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }

smoke_paid_meme() {  # smoke_paid_meme BASE KEY: charged 1, and the balance says so
    local body charged before after
    before=$(curl -fsS -H "X-Token: $2" "$1/api/balance" | json_get 'd["balance"]') || fail "GET /api/balance failed"
    body=$(curl -fsS -H "X-Token: $2" "$1/api/memes?query=cat&lat=48.8566&lon=2.3522") || fail "GET /api/memes failed"
    charged=$(printf '%s' "$body" | json_get 'd["billing"]["charged"]')
    [ "$charged" = 1 ] || fail "paid meme not charged 1: $body"
    after=$(curl -fsS -H "X-Token: $2" "$1/api/balance" | json_get 'd["balance"]') || fail "GET /api/balance failed"
    [ "$after" = $((before - 1)) ] || fail "balance $before before the paid meme, $after after (expected $((before - 1)))"
    ok "paid meme served: $(printf '%s' "$body" | json_get 'd["memes"][0]["template"]') (charged 1, balance $before → $after)"
    curl -fsS -o "$CHECK_TMP/meme.png" -H "X-Token: $2" "$1/api/memes?query=cat&format=image" || fail "PNG meme failed"
    [ "$(head -c 4 "$CHECK_TMP/meme.png" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "not a PNG"
    ok "PNG meme served ($(stat -c %s "$CHECK_TMP/meme.png") bytes)"
}

smoke_ingest() {  # smoke_ingest BASE KEY: one record, stored by the worker through RabbitMQ
    local code id status
    code=$(curl -sS -o "$CHECK_TMP/ingest.json" -w '%{http_code}' -H "X-Token: $2" -H "Content-Type: application/json" \
        -d '{"ts": "1530228282", "sender": "deploy-check", "message": {"foo": "bar"}, "sent-from-ip": "1.2.3.4", "priority": 2}' \
        "$1/api/ingest") || fail "POST /api/ingest failed"
    [ "$code" = 202 ] || fail "POST /api/ingest answered $code, not 202: $(cat "$CHECK_TMP/ingest.json")"
    id=$(json_get 'd["id"]' < "$CHECK_TMP/ingest.json")
    for i in $(seq 60); do
        status=$(curl -fsS -H "X-Token: $2" "$1/api/ingest/$id" 2>/dev/null | json_get 'd["status"]' 2>/dev/null) || status=unanswered
        [ "$status" = stored ] && break
        progress "$i" "waiting for ingest record $id to be stored (status $status)"
        sleep 1
    done
    [ "$status" = stored ] || fail "ingest record $id not stored within 60 s (status $status)"
    ok "ingest record $id accepted (202) and stored by the worker container through RabbitMQ"
}

stop_and_expect_zero() {  # stop_and_expect_zero NAME TIMEOUT
    local start=$SECONDS code
    "${PODMAN[@]}" stop -t "$2" "$1" >/dev/null
    code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$1")
    [ "$code" = 0 ] || fail "$1 exited $code after SIGTERM"
    ok "$1: SIGTERM → exit 0 in $((SECONDS - start)) s"
}

# burst_kill_and_verify BASE_URL KEY WORKER SQL: 2,000 records sent to BASE_URL's ingest while the
# WORKER container is SIGKILLed once records are being stored, then started again; the ids that got
# a 202 and the ids stored must be the same set. SQL is a command that runs its argument against
# the stack's database and prints the rows (one column, unaligned).
burst_kill_and_verify() {
    local base=$1 key=$2 worker=$3 sql=$4 sender="burst-$RANDOM$RANDOM" burst n i
    "${PYTHON:-.venv/bin/python}" deploy/check/burst.py "$base" "$key" 2000 "$sender" > "$CHECK_TMP/ids" &
    burst=$!
    stored() { "$sql" "SELECT count(*) FROM ingest_ingestrecord WHERE sender = '$sender'"; }
    for _ in $(seq 120); do [ "$(stored)" -gt 0 ] && break; sleep 0.5; done
    "${PODMAN[@]}" kill -s KILL "$worker" >/dev/null
    ok "worker container SIGKILLed with $(stored) of 2000 stored"
    "${PODMAN[@]}" start "$worker" >/dev/null
    wait $burst || fail "the burst was not accepted whole"
    [ "$(wc -l < "$CHECK_TMP/ids")" = 2000 ] || fail "expected 2000 ids, got $(wc -l < "$CHECK_TMP/ids")"
    for i in $(seq 180); do
        n=$(stored)
        [ "$n" -ge 2000 ] && break
        progress "$i" "waiting for the 2000 records to be stored ($n so far)"
        sleep 1
    done
    "$sql" "SELECT uuid FROM ingest_ingestrecord WHERE sender = '$sender'" | sort > "$CHECK_TMP/stored"
    sort "$CHECK_TMP/ids" > "$CHECK_TMP/accepted"
    cmp -s "$CHECK_TMP/accepted" "$CHECK_TMP/stored" \
        || fail "accepted and stored differ: $(comm -23 "$CHECK_TMP/accepted" "$CHECK_TMP/stored" | wc -l) lost, $(( $(wc -l < "$CHECK_TMP/stored") - $(sort -u "$CHECK_TMP/stored" | wc -l) )) duplicated"
    ok "all 2000 accepted records stored exactly once after the SIGKILL (0 lost, 0 duplicated)"
}
