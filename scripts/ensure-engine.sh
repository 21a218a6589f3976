#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine; install and start one when none does.
# CI machines start with the docker CLI but no engine and no systemd (see shared/LAB-NOTES.md).
set -euo pipefail

log() { printf '==> %s\n' "$*"; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "Installing Docker engine and debootstrap from Debian's packages (apt log: /tmp/djangoops-apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >/tmp/djangoops-apt.log 2>&1
  apt-get install -y --no-install-recommends docker.io debootstrap >>/tmp/djangoops-apt.log 2>&1 \
    || { echo "apt-get install failed; see /tmp/djangoops-apt.log" >&2; exit 1; }
fi

if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl start docker
else
  log "Starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { log "Docker engine answers"; exit 0; }
  sleep 1
done
echo "dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
