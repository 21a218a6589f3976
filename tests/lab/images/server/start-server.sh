#!/bin/sh
# Boot a lab server: the deploy user Ansible logs in as, sshd, then dockerd in the foreground.
# LAB_AUTHORIZED_KEY: public key for user "deploy"; LAB_INSECURE_REGISTRIES: comma-separated host:port.
set -eu
if ! id deploy >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash deploy
fi
install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
printf '%s\n' "${LAB_AUTHORIZED_KEY:?LAB_AUTHORIZED_KEY must hold the public key of user deploy}" \
  > /home/deploy/.ssh/authorized_keys
chown deploy:deploy /home/deploy/.ssh/authorized_keys
chmod 0600 /home/deploy/.ssh/authorized_keys
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy

mkdir -p /etc/docker /run/sshd
if [ -n "${LAB_INSECURE_REGISTRIES:-}" ]; then
  regs=$(printf '%s' "$LAB_INSECURE_REGISTRIES" | sed 's/[^,][^,]*/"&"/g')
  printf '{"insecure-registries": [%s]}\n' "$regs" > /etc/docker/daemon.json
fi
ssh-keygen -A >/dev/null
/usr/sbin/sshd
# cron runs scheduled jobs (the certbot renewal), as on a real server.
cron

# dockerd runs supervised, as systemd would run it on a real server: `pkill -x dockerd` restarts
# the engine (tests do), and stopping the lab server stops it cleanly.
trap 'pkill -TERM -x dockerd; wait; exit 0' TERM INT
while :; do
  dockerd &
  wait $! || true
  echo "start-server: dockerd exited; restarting it" >&2
  sleep 1
done
