#!/usr/bin/env bash
# `make up`: the Debian bases (deploy/images/base.sh, cached), the three images of deploy/compose.yaml
# (podman's layer cache makes a second run take seconds), then the stack, detached; waits until the
# api is healthy. Environment: the ports of deploy/compose.yaml, MAAS_IMAGE_PREFIX (maas), MAAS_APP_IMAGE,
# COMPOSE_PROJECT (maas), PODMAN_ARGS, COMPOSE (the compose command; podman-compose of .venv-deploy).
set -euo pipefail
cd "$(dirname "$0")/../.."
export MAAS_IMAGE_PREFIX=${MAAS_IMAGE_PREFIX:-maas}
read -r -a PODMAN <<< "podman ${PODMAN_ARGS:---runtime runc --cgroup-manager cgroupfs}"
read -r -a COMPOSE <<< "${COMPOSE:-$PWD/.venv-deploy/bin/podman-compose --in-pod false}"
[ -n "${COMPOSE_PODMAN_ARGS+x}" ] || COMPOSE+=(--podman-args "${PODMAN[*]:1}")
export MAAS_NPROC=${MAAS_NPROC:-$(( $(ulimit -u) < 4096 ? $(ulimit -u) : 4096 ))} MAAS_NOFILE=${MAAS_NOFILE:-$(ulimit -Hn)}
project=${COMPOSE_PROJECT:-maas}
IMAGE_PREFIX=$MAAS_IMAGE_PREFIX deploy/images/base.sh
# Built here rather than by `compose build`: podman-compose cannot mount the host's CA bundle into
# a build (our network re-signs PyPI's certificate; the bundle never goes into a layer).
certs=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    certs=(-v /etc/ssl/certs:/host-certs:ro --build-arg PIP_CERT=/host-certs/ca-certificates.crt)
fi
base=localhost/$MAAS_IMAGE_PREFIX-base-python:bookworm
# MAAS_APP_IMAGE: an app image just built from this tree with the same arguments (deploy-check's),
# tagged instead of built again (an all-cached build still takes ~10 s to hash the context).
if [ -n "${MAAS_APP_IMAGE:-}" ]; then
    "${PODMAN[@]}" tag "$MAAS_APP_IMAGE" "localhost/$MAAS_IMAGE_PREFIX-app:compose"
else
    "${PODMAN[@]}" build -q --format docker --network host "${certs[@]}" --build-arg BASE_IMAGE="$base" \
        -f deploy/Dockerfile -t "localhost/$MAAS_IMAGE_PREFIX-app:compose" . >/dev/null
fi
"${PODMAN[@]}" build -q --format docker --network host --build-arg BASE_IMAGE="$base" \
    -f deploy/compose/Dockerfile.services -t "localhost/$MAAS_IMAGE_PREFIX-services:compose" . >/dev/null
"${PODMAN[@]}" build -q --format docker --build-arg RABBITMQ_IMAGE="localhost/$MAAS_IMAGE_PREFIX-base-rabbitmq:bookworm" \
    -f deploy/rabbitmq/Dockerfile -t "localhost/$MAAS_IMAGE_PREFIX-rabbitmq:compose" . >/dev/null
echo "up.sh: images localhost/$MAAS_IMAGE_PREFIX-{app,services,rabbitmq}:compose built"
# The order depends_on states, enforced here: podman-compose 1.6 on podman 4.3 ignores
# `condition: service_healthy` (it warns) and refuses to start a service whose dependency has
# exited (migrate). So: the three backing services, until their healthchecks pass; migrate in the
# foreground (must exit 0); then api and worker without re-checking their dependencies.
"${COMPOSE[@]}" -p "$project" -f deploy/compose.yaml up -d --no-build postgres redis rabbitmq
for service in postgres redis rabbitmq; do
    for i in $(seq 120); do
        "${PODMAN[@]}" healthcheck run "${project}_${service}_1" >/dev/null 2>&1 && break
        [ $((i % 5)) -ne 0 ] || echo "up.sh: waiting for $service to be healthy ($((i * 2)) s)"
        sleep 2
    done
    "${PODMAN[@]}" healthcheck run "${project}_${service}_1" >/dev/null 2>&1 \
        || { echo "up.sh: $service is not healthy after 240 s" >&2; exit 1; }
done
"${COMPOSE[@]}" -p "$project" -f deploy/compose.yaml run --rm --no-deps migrate
"${COMPOSE[@]}" -p "$project" -f deploy/compose.yaml up -d --no-build --no-deps api worker
port=${MAAS_WEB_PORT:-8000}
for i in $(seq 180); do
    curl -fsS -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$port/api/ready" 2>/dev/null && break
    [ $((i % 10)) -ne 0 ] || echo "up.sh: waiting for the api to be ready on :$port ($i s)"
    sleep 1
done
curl -fsS -o /dev/null -H 'Host: localhost' "http://127.0.0.1:$port/api/ready" \
    || { echo "up.sh: the api is not ready on :$port after 180 s" >&2; exit 1; }
echo "up.sh: MaaS on http://127.0.0.1:$port (project $project)"
