#!/usr/bin/env bash
# `make deploy-check`: every deployment check in turn, each timed. docs/deploy.md says what each proves.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
for check in deploy/check/k8s.sh deploy/check/images.sh deploy/check/compose.sh deploy/check/kubeplay.sh; do
    t=$SECONDS
    "$check"
    printf 'deploy-check: %s passed in %d s\n' "$check" "$((SECONDS - t))"
    # images.sh has built the app and RabbitMQ images from this tree: the checks after it run them
    # as they are instead of building them again.
    [ "$check" != deploy/check/images.sh ] || export MAAS_CHECK_IMAGES_BUILT=1
done
printf 'deploy-check: all passed in %d s\n' "$((SECONDS - start))"
