#!/usr/bin/env bash
# Install the Debian packages the test suite needs when they are missing: Chromium (browser
# tests), PostgreSQL and Redis (the real services the suite runs against), Node.js/npm, wrk
# (the page benchmark), nginx (the proxy in front of gunicorn).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # the page benchmark's load generator (bench/)
# the proxy of the production stack, run by tests/test_production_stack.py
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "Missing system packages (${missing[*]}) and no root access: install them and retry." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
