#!/usr/bin/env bash
# Builds the two base images the Dockerfiles take as BASE_IMAGE / RABBITMQ_IMAGE, from Debian
# bookworm packages with mmdebstrap + `podman import`, for machines that reach Debian's archive but
# no image registry (ours). Elsewhere use the official images (the Dockerfiles' defaults).
#
#   deploy/images/base.sh            # build what is missing (a second run takes a second)
#   deploy/images/base.sh --force    # rebuild both
#
# Images (IMAGE_PREFIX, default "maas"):
#   localhost/$IMAGE_PREFIX-base-python:bookworm    python3 3.11, venv, pip (Debian's)
#   localhost/$IMAGE_PREFIX-base-rabbitmq:bookworm  rabbitmq-server 3.10 (Debian's; management and
#                                                   prometheus plugins ship with it)
# The base is rebuilt when this script changes (its hash is a label on the image), so a cached base
# never lags behind what the script says it contains.
set -euo pipefail
cd "$(dirname "$0")/../.."

PREFIX=${IMAGE_PREFIX:-maas}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PODMAN=(podman ${PODMAN_ARGS:-})
force=0
[ "${1:-}" = --force ] && force=1
recipe=$(sha256sum "$0" | cut -c1-16)

log() { printf 'base.sh: %s\n' "$*" >&2; }

build() {  # build NAME PACKAGES CMD
    local image="localhost/$PREFIX-base-$1:bookworm" packages=$2 cmd=$3
    if [ $force = 0 ] && [ "$("${PODMAN[@]}" image inspect --format '{{ index .Labels "maas.recipe" }}' "$image" 2>/dev/null)" = "$recipe" ]; then
        log "$image is up to date"; return 0
    fi
    log "building $image ($packages)"
    local start=$SECONDS
    # --variant=apt: essential packages + apt, what the official slim images have. Documentation,
    # man pages and locales are left out (dpkg path-exclude) as in Debian's own slim images; the
    # archive's snapshots carry old Valid-Until dates, hence the apt options. policy-rc.d keeps
    # rabbitmq-server's postinst from starting a server inside the build.
    mmdebstrap --quiet --variant=apt --include="$packages" \
        --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --setup-hook='mkdir -p "$1/usr/sbin" && printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"' \
        --customize-hook='rm -f "$1/usr/sbin/policy-rc.d"; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/tmp/*' \
        bookworm - \
        "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECURITY bookworm-security main" \
        | "${PODMAN[@]}" import \
            --change "CMD $cmd" --change 'ENV LANG=C.UTF-8' \
            --change "LABEL maas.recipe=$recipe" --change 'LABEL org.opencontainers.image.base.name=debian:bookworm' \
            - "$image" >/dev/null
    log "built $image in $((SECONDS - start)) s"
}

# Both at once: each is mostly waiting for downloads (204 s and 326 s one after the other here).
build python "python3,python3-venv,python3-pip,ca-certificates,tzdata" '["python3"]' &
python_build=$!
build rabbitmq "rabbitmq-server,ca-certificates" '["rabbitmq-server"]' &
rabbitmq_build=$!
status=0
wait $python_build || status=1
wait $rabbitmq_build || status=1
[ $status = 0 ] || { log "a base image failed to build"; exit 1; }
