#!/usr/bin/env bash
# Start the Docker engine in the background the way scripts/setup.sh does on a machine
# without one (as root): `dockerd` with no arguments, in its own session, its output in
# /var/log/sandgym-dockerd.log (its pidfile is the engine's default, /var/run/docker.pid),
# then wait up to 60 s for `docker info` to answer.
#
# A script of its own so that setup and the engine-restart chaos test
# (tests/rollouts/test_chaos_engine.py) start the engine exactly alike: the test proves
# a collection survives a restart of *this* engine, the one CI runs on.
set -euo pipefail
LOG=/var/log/sandgym-dockerd.log
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "ERROR: starting dockerd needs root"
  exit 1
fi
log "starting dockerd in the background (log: $LOG)"
nohup setsid dockerd >>"$LOG" 2>&1 < /dev/null &
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || { log "ERROR: dockerd did not answer within 60 s; see $LOG"; exit 1; }
