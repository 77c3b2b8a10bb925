#!/usr/bin/env bash
# deploy-check, kube play: the dev overlay rendered by `kubectl kustomize`, converted for podman 4.3
# by deploy/check/kubeplay.py (StatefulSet → Pod + PVC, Job → Pod, Secret and ConfigMap resolved,
# host networking instead of Services: its docstring says exactly what), then played with
# `podman kube play`: RabbitMQ, the migrations Job's pod (must exit 0), web and worker. Proves,
# through the played web pod: a paid meme served (charged 1, balance down by 1), an ingest record
# accepted (202) and stored by the played worker through the played RabbitMQ. Then `podman kube
# down`: no pod, container or volume left. Under run.sh it plays the images images.sh has just
# built (alone, it builds them: podman's cache makes that quick), with a PostgreSQL and a Redis of
# its own on the host.
#
# Environment: IMAGE_PREFIX (maas), PORT_BASE (18400: uses PORT_BASE+40..46), PODMAN_ARGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/check/lib.sh

# Ports of its own, apart from images.sh's and compose.sh's.
PG_PORT=$((PORT_BASE + 40)) REDIS_PORT=$((PORT_BASE + 41)) AMQP_PORT=$((PORT_BASE + 42))
RABBIT_HTTP_PORT=$((PORT_BASE + 43)) RABBIT_METRICS_PORT=$((PORT_BASE + 44)) WEB_PORT=$((PORT_BASE + 45))
WORKER_METRICS_PORT=$((PORT_BASE + 46))
QUEUE=$QUEUE-kube
prefix=$PREFIX-check-kube-
kube=$CHECK_TMP/kube
web=${prefix}maas-web-pod-0-web worker=${prefix}maas-worker-pod-0-worker migrate=${prefix}maas-migrate-migrate

# `podman kube play` has no --ulimit, and podman's default limits exceed ours (runc: "error setting
# rlimit type 7: operation not permitted"): set them as default_ulimits in a containers.conf of our
# own. CONTAINERS_CONF replaces every other containers.conf, so ours starts as a copy of the system's.
system_conf=""
for f in /usr/share/containers/containers.conf /etc/containers/containers.conf; do [ -f "$f" ] && system_conf=$f; done
ulimits="default_ulimits = [\"nproc=$NPROC:$NPROC\", \"nofile=$NOFILE:$NOFILE\"]"
if [ -n "$system_conf" ] && grep -q '^\[containers\]' "$system_conf"; then
    sed "/^\[containers\]/a $ulimits" "$system_conf" > "$CHECK_TMP/containers.conf"
else
    printf '[containers]\n%s\n' "$ulimits" > "$CHECK_TMP/containers.conf"
fi
export CONTAINERS_CONF=$CHECK_TMP/containers.conf

play() {  # play FILE: podman kube play, taken down again on exit (lib.sh's trap)
    KUBE_PLAYED+=("$1")
    "${PODMAN[@]}" kube play --quiet "$1" > "$CHECK_TMP/play.log" 2>&1 || { cat "$CHECK_TMP/play.log"; fail "podman kube play $1"; }
}

step "render the dev overlay and convert it for podman kube play"
mkdir -p "$kube"
"$DEPLOY_BIN/kubectl" kustomize deploy/k8s/overlays/dev > "$kube/dev.yaml"
"$DEPLOY_BIN/python" deploy/check/kubeplay.py "$kube/dev.yaml" "$kube" --prefix "$prefix" \
    --image maas:dev="$APP_IMAGE" --image maas-rabbitmq:dev="$RABBITMQ_IMAGE" \
    --set DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/maas" \
    --set DATABASE_URL_DIRECT="postgres://postgres@127.0.0.1:$PG_PORT/maas" \
    --set REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    --set BROKER_URL="amqp://maas:$RABBITMQ_PASSWORD@127.0.0.1:$AMQP_PORT/%2F" \
    --set RABBITMQ_PASSWORD="$RABBITMQ_PASSWORD" --set INGEST_QUEUE="$QUEUE" \
    --set WORKER_PROCESSES=1 --set WEB_WORKERS=1 \
    --set WORKER_METRICS_PORT="$WORKER_METRICS_PORT" --set WORKER_METRICS_HOST=127.0.0.1 \
    --publish amqp="$AMQP_PORT" --publish management="$RABBIT_HTTP_PORT" --publish metrics="$RABBIT_METRICS_PORT" \
    --web-port "$WEB_PORT"
ok "converted: $(cd "$kube" && grep -h '^kind:' rabbitmq.yaml migrate.yaml web.yaml worker.yaml | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}')"

step "images and services of our own: PostgreSQL :$PG_PORT, Redis :$REDIS_PORT"
if [ "${MAAS_CHECK_IMAGES_BUILT:-}" = 1 ]; then
    ok "images $APP_IMAGE and $RABBITMQ_IMAGE (just built by images.sh)"
else
    deploy/images/base.sh
    build_images
fi
start_host_postgres
start_host_redis

step "kube play: RabbitMQ (StatefulSet → Pod + PersistentVolumeClaim) on :$AMQP_PORT"
play "$kube/rabbitmq.yaml"
check_rabbitmq

step "kube play: the migrations Job's pod"
play "$kube/migrate.yaml"
for i in $(seq 300); do
    [ "$("${PODMAN[@]}" inspect --format '{{.State.Status}}' "$migrate")" = exited ] && break
    progress "$i" "waiting for $migrate to exit"
    sleep 1
done
code=$("${PODMAN[@]}" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$migrate")
[ "$code" = "exited 0" ] || fail "the migrations pod did not exit 0 within 300 s ($code)"
ok "migrations applied: $migrate exited 0"

step "kube play: web and worker (Deployments), web on :$WEB_PORT"
play "$kube/web.yaml"
play "$kube/worker.yaml"
wait_http "http://127.0.0.1:$WEB_PORT/api/ready" 180
[ "$(podman_user "$web")" = 10001 ] || fail "the played web container does not run as uid 10001"
"${PODMAN[@]}" exec "$web" sh -c 'touch /app/x 2>/dev/null' && fail "the played web container's root filesystem is writable"
ok "web ready; uid 10001 and a read-only root, as the pod's securityContext says"

step "sample catalogue and a paying client (in the played web container)"
"${PODMAN[@]}" exec "$web" python3 manage.py import_memes memes/sample/sample_memes.csv --languages memes/sample/sample_languages.csv
KEY=$("${PODMAN[@]}" exec -i "$web" python3 manage.py shell < deploy/check/smoke_setup.py | sed -n 's/^KEY=//p' | tail -1)
[ -n "$KEY" ] || fail "no API key from smoke_setup.py"
smoke_paid_meme "http://127.0.0.1:$WEB_PORT" "$KEY"
smoke_ingest "http://127.0.0.1:$WEB_PORT" "$KEY"

step "podman kube down"
for f in worker web migrate rabbitmq; do "${PODMAN[@]}" kube down "$kube/$f.yaml" >/dev/null; done
KUBE_PLAYED=()
"${PODMAN[@]}" volume rm "${prefix}data-rabbitmq-0" >/dev/null  # kube down keeps claims' volumes, as a cluster keeps PVCs
pods=$("${PODMAN[@]}" pod ls --format '{{.Name}}' | grep -c "^$prefix" || true)
left=$("${PODMAN[@]}" ps -a --format '{{.Names}}' | grep -c "^$prefix" || true)
vols=$("${PODMAN[@]}" volume ls --format '{{.Name}}' | grep -c "^$prefix" || true)
[ "$pods" = 0 ] && [ "$left" = 0 ] && [ "$vols" = 0 ] || fail "left after kube down: $pods pods, $left containers, $vols volumes"
ok "kube play: all checks passed (no pod, container or volume left)"
