#!/usr/bin/env bash
# Build the lab's images locally: no public image registry can be reached from this machine.
# A Debian minbase root file system (debootstrap) becomes the base; every other lab image and every
# stand-in for a public image (python, nginx, certbot) is built FROM it with Debian's packages.
# Images the machine already has are reused: the base is built once, the rest hit Docker's cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
base=djangoops-lab/debian:bookworm
logdir=${LAB_LOG_DIR:-/tmp/djangoops-lab-logs}
mkdir -p "$logdir"

log() { printf '==> %s\n' "$*"; }

debian_mirror() {
  # The first URIs: line of the enabled Debian source; other files there are disabled third-party
  # sources. Never hard-code the mirror: it belongs to the machine, not the project.
  local src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    awk '/^URIs:/ {print $2; exit}' "$src"
  else
    awk '/^deb / && $2 ~ /^http/ {print $2; exit}' /etc/apt/sources.list
  fi
}

build_base() {  # [suite]: bookworm by default; bullseye for the seed tutorial's era of the app
  local suite=${1:-bookworm}
  local image=djangoops-lab/debian:$suite
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "Reusing $image"
    return
  fi
  local mirror rootfs
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "No Debian mirror found in the apt sources" >&2; exit 1; }
  rootfs=$(mktemp -d /tmp/djangoops-rootfs.XXXXXX)
  log "Building $image with debootstrap (log: $logdir/debootstrap-$suite.log)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$logdir/debootstrap-$suite.log" 2>&1 \
    || { echo "debootstrap failed; see $logdir/debootstrap-$suite.log" >&2; rm -rf "$rootfs"; exit 1; }
  # <suite>-updates too, so images get the same point fixes the host has.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" \
    >"$rootfs/etc/apt/sources.list"
  # pip in containers must trust the same CA bundle as this machine (intercepting proxies).
  mkdir -p "$rootfs/etc/ssl"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/djangoops-lab-builder-ca.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - "$image" >/dev/null
  rm -rf "$rootfs"
}

build() {
  local name=$1 tag=$2
  log "Building $tag"
  if ! docker build --build-arg BASE_IMAGE="$base" -t "$tag" "$here/images/$name" \
      >"$logdir/build-$name.log" 2>&1; then
    echo "Building $tag failed; see $logdir/build-$name.log" >&2
    tail -20 "$logdir/build-$name.log" >&2
    exit 1
  fi
}

build_base
build server djangoops-lab/server:bookworm
build services djangoops-lab/services:bookworm
build client djangoops-lab/client:bookworm
build python djangoops-lab/python:bookworm
build_base trixie  # Debian 13: the Nginx of the nginx stand-in
build nginx djangoops-lab/nginx:1.26
build pebble djangoops-lab/pebble:2.6  # Debian 13: Pebble with ARI
build certbot djangoops-lab/certbot:5.8.0
build certbot-dns-rfc2136 djangoops-lab/dns-rfc2136:5.8.0  # FROM the certbot stand-in
# Two releases of the example app (1.1.0 adds a migration; 1.1.1 and 1.1.2 are the same under other
# versions, for checks that deploy several releases in a row), a third whose Gunicorn listens on the
# wrong port (migrations and collectstatic work, the health check fails), and two of other eras: the
# seed tutorial's (Django 3.1, Python 3.9, psycopg2, Gunicorn 20, DEBUG read as a string, which
# Django's deploy checks must stop) and a Django 4.2 one on Debian's python3 alone, manage.py in src/.
build_polls() {  # version, build context, extra docker build arguments...
  version=$1 context=$2
  shift 2
  log "Building the polls example app image $version"
  if ! docker build --build-arg BASE_IMAGE=djangoops-lab/python:bookworm --build-arg APP_VERSION="$version" "$@" \
      -t "djangoops-lab/polls:$version" "$context" >"$logdir/build-polls-$version.log" 2>&1; then
    echo "Building the polls image $version failed; see $logdir/build-polls-$version.log" >&2
    tail -20 "$logdir/build-polls-$version.log" >&2
    exit 1
  fi
}
build_polls 1.0.0 "$here/../../examples/polls"
# The app's dependencies alone: the base of the lab's builds from git, which run with no network.
build_polls deps "$here/../../examples/polls" --target deps
build_polls 1.1.0 "$here/images/polls-next"
build_polls 1.1.1 "$here/images/polls-patch" --build-arg PATCH_VERSION=1.1.1
build_polls 1.1.2 "$here/images/polls-patch" --build-arg PATCH_VERSION=1.1.2
build_polls 1.2.0 "$here/images/polls-broken"
build_base bullseye
build_polls 1.0.1 "$here/images/polls-tutorial"
build_polls 1.0.2 "$here/images/polls-django42"
log "Lab images ready"
