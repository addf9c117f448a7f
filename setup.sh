#!/usr/bin/env bash
# The main job on a fresh machine: install everything, start a sandbox MariaDB, run `test-rig basic` on it.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh
.venv/bin/test-rig sandbox start
eval "$(.venv/bin/test-rig sandbox env)"
.venv/bin/test-rig basic --no-password-prompt
cat <<'MSG'

The sandbox is still running. Point any command at it with:
  eval "$(.venv/bin/test-rig sandbox env)"
  .venv/bin/test-rig isolation
Stop it with: .venv/bin/test-rig sandbox stop
MSG
