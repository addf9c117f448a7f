#!/usr/bin/env bash
# Installs what test-rig needs on a fresh Debian machine: the MariaDB server package when mariadbd
# is missing, a virtualenv in .venv, and the package with its development tools; with --tests also
# what only the test suite needs (Debian's chromium). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "bootstrap: mariadbd not found; installing Debian's mariadb-server package"
  apt_install mariadb-server
fi

# openssl makes the TLS sandbox's certificates (tests/integration/test_tls.py)
command -v openssl >/dev/null 2>&1 || apt_install openssl
# With --tests: Debian's chromium, which opens the HTML reports in the browser tests.
if [ "${1:-}" = "--tests" ] && [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: installing Debian's chromium for the HTML report tests"
  apt_install chromium
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PYTHON --version)"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    echo "bootstrap: python venv module missing; installing python3-venv"
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
# With --tests also the ray extra: the suite starts a local Ray cluster for `bench --ray`.
extras=dev
if [ "${1:-}" = "--tests" ]; then extras=dev,ray; fi
if ! .venv/bin/python -c "import test_rig, pytest, ruff, mypy" 2>/dev/null || [ pyproject.toml -nt .venv/.installed ] \
   || { [ "$extras" = dev,ray ] && ! .venv/bin/python -c "import ray" 2>/dev/null; }; then
  echo "bootstrap: installing test-rig and its dependencies ($extras) into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch .venv/.installed
fi
