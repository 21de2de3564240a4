#!/usr/bin/env bash
# Start the Docker Engine when it is not answering (no systemd on CI or dev machines here).
set -euo pipefail
if docker info >/dev/null 2>&1; then echo "docker: running"; exit 0; fi
if ! command -v dockerd >/dev/null; then echo "docker: dockerd not installed (apt-get install docker.io)"; exit 1; fi
echo "docker: starting dockerd"
nohup dockerd >/var/log/flashbox-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "docker: ready"; exit 0; fi
  sleep 1
done
echo "docker: dockerd did not become ready in 60s"; tail -20 /var/log/flashbox-dockerd.log; exit 1
