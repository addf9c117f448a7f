#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what is missing, lint, type-check, run pytest.
# Integration tests start their own private MariaDB and TiDB servers; no server needs to be running.
# tidb-server is built once per machine from the Go module proxy (about 7 minutes; needs Go 1.23+ on
# PATH) unless TIDB_SERVER_BIN or PATH already has one; toxiproxy-server (the nemesis's network faults) is
# built the same way with `go install` (about a minute) unless TOXIPROXY_SERVER_BIN or PATH has one.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh --tests
.venv/bin/test-rig sandbox build-tidb
.venv/bin/test-rig sandbox build-toxiproxy
.venv/bin/ruff check src tests examples benchmarks
.venv/bin/mypy src
.venv/bin/python -m pytest "$@"
