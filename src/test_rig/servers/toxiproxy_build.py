"""Getting a `toxiproxy-server` (network faults for --nemesis): built once per machine with `go install` of the
pinned release from the Go module proxy into the build cache, as the TiDB build is (tidb_build.py, whose Go
toolchain check it shares)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from test_rig.servers import binaries
from test_rig.servers.binaries import TOXIPROXY_VERSION
from test_rig.servers.tidb_build import BuildError, find_go

TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"


def build_toxiproxy(*, force: bool = False, progress: Callable[[str], None] | None = None) -> Path:
    """`go install` the pinned Toxiproxy server into the cache (its binary is named `server`; it is kept as
    `toxiproxy-server`). Returns its path; raises BuildError (exit 2) when Go is missing or the build fails."""
    say = progress or (lambda _msg: None)
    target = binaries.cached("toxiproxy-server")
    if target.is_file() and not force:
        return target
    go = find_go(what="toxiproxy-server", instead="TOXIPROXY_SERVER_BIN")
    say(f"building toxiproxy-server {TOXIPROXY_VERSION} with `go install` (about a minute; once per machine)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="test-rig-toxiproxy-", dir=target.parent) as tmp:
        env = dict(os.environ, GOBIN=tmp, GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod")
        done = subprocess.run([str(go.path), "install", f"{TOXIPROXY_MODULE}@{TOXIPROXY_VERSION}"], env=env,
                              cwd=tmp, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or [""])[-1]
            raise BuildError(f"`go install {TOXIPROXY_MODULE}@{TOXIPROXY_VERSION}` failed (exit {done.returncode}: "
                             f"{tail[:300]}).")
        os.replace(Path(tmp) / "server", target)
    say(f"built {target}")
    return target
