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
# Two pytest-xdist workers, each with its own session sandboxes; a test file runs in one worker (its module-scoped
# fixtures, e.g. the Ray cluster, are shared). The integration tests spend most of their time waiting on servers,
# so two workers on two cores take about two thirds of the serial time. `./run-tests.sh -n 0` runs serially.
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
