#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what is missing, lint, type-check, run pytest.
# Integration tests start their own private MariaDB servers; no server needs to be running.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
.venv/bin/ruff check src tests examples benchmarks
.venv/bin/mypy src
.venv/bin/python -m pytest "$@"
