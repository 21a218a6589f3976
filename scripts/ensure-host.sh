#!/usr/bin/env bash
# Make sure this machine has what the lab and the tests need from Debian's packages (a Docker
# engine, debootstrap for the lab's base image, shellcheck for ansible-test sanity) and that the
# Docker engine answers. CI machines start with the docker CLI but no engine and no systemd.
set -euo pipefail

log() { printf '==> %s\n' "$*"; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -gt 0 ]; then
  log "Installing ${missing[*]} from Debian's packages (apt log: /tmp/djangoops-apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >/tmp/djangoops-apt.log 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/djangoops-apt.log 2>&1 \
    || { echo "apt-get install failed; see /tmp/djangoops-apt.log" >&2; exit 1; }
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl start docker
else
  # A machine restarted with /var/run kept holds the last engine's pid files; dockerd takes a pid there
  # that now belongs to another process for a running containerd and waits for it in vain.
  if ! pgrep -x dockerd >/dev/null && ! pgrep -x containerd >/dev/null; then
    rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  fi
  log "Starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { log "Docker engine answers"; exit 0; }
  sleep 1
done
echo "dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
