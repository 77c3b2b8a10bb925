#!/usr/bin/env bash
# `make down`: stops the stack and removes its containers; `make down VOLUMES=1` (or -v here) its
# volumes too (pgdata, rabbitmq-data: the database and the queues are lost).
set -euo pipefail
cd "$(dirname "$0")/../.."
read -r -a PODMAN <<< "podman ${PODMAN_ARGS:---runtime runc --cgroup-manager cgroupfs}"
read -r -a COMPOSE <<< "${COMPOSE:-$PWD/.venv-deploy/bin/podman-compose --in-pod false}"
COMPOSE+=(--podman-args "${PODMAN[*]:1}")
"${COMPOSE[@]}" -p "${COMPOSE_PROJECT:-maas}" -f deploy/compose.yaml down "$@"
