"""`test-rig sandbox build-tidb` when it cannot build: no Go, too old a Go, a build that fails.

The real build (about 7 minutes) is what ./run-tests.sh runs before the suite; here a stand-in `go`
on PATH plays each broken toolchain, so these paths are checked in seconds. Each gives one sentence,
exit status 2, and leaves no binary, finished or half-written, in the cache.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from test_rig.servers.tidb_build import TIDB_COMMIT
from tests.helpers import run_cli


def _env(tmp_path: Path, go_script: str | None) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if go_script is not None:
        go = bin_dir / "go"
        go.write_text("#!/bin/sh\n" + textwrap.dedent(go_script))
        go.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("GO", "TIDB_SERVER_BIN") and not k.startswith("TIDB_")}
    env.update({"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
                "XDG_CACHE_HOME": str(tmp_path / "cache")})
    return env


def _cache_is_empty_of_binaries(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "test-rig" / "tidb" / TIDB_COMMIT
    assert not (folder / "tidb-server").exists()
    assert list(folder.glob(".tidb-server.partial-*")) == []


def test_without_go_it_says_what_to_do(tmp_path: Path) -> None:
    r = run_cli("sandbox", "build-tidb", env=_env(tmp_path, None))
    assert r.returncode == 2
    assert r.stderr == ("error: Building tidb-server needs Go 1.23 or newer and no `go` was found on PATH; install "
                        "it from go.dev (Debian 12's golang-go is 1.19, too old) or set TIDB_SERVER_BIN to a "
                        "tidb-server you already have.\n")
    _cache_is_empty_of_binaries(tmp_path)


def test_a_go_that_is_too_old_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path, 'echo go1.19.8\n')
    r = run_cli("sandbox", "build-tidb", env=env)
    assert r.returncode == 2
    go = tmp_path / "bin" / "go"
    assert r.stderr == (f"error: Go 1.19 at {go} is too old to build tidb-server (it needs 1.23 or newer); install "
                        "a newer Go from go.dev and put it first on PATH, or set TIDB_SERVER_BIN.\n")
    _cache_is_empty_of_binaries(tmp_path)


def test_a_failed_download_leaves_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path, '''
        case "$1" in
          env) echo go1.26.0 ;;
          mod) echo "go: github.com/pingcap/tidb@v1: 403 Forbidden" >&2; exit 1 ;;
        esac
    ''')
    r = run_cli("sandbox", "build-tidb", env=env)
    assert r.returncode == 2
    log = tmp_path / "cache" / "test-rig" / "tidb" / TIDB_COMMIT / "build.log"
    assert r.stderr == ("error: Downloading the modules failed (exit 1: go: github.com/pingcap/tidb@v1: 403 "
                        f"Forbidden); the full output is in {log}.\n")
    _cache_is_empty_of_binaries(tmp_path)


def test_a_compile_that_fails_halfway_leaves_no_half_written_binary(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    (modules / "tidb" / "cmd" / "tidb-server").mkdir(parents=True)
    (modules / "parser").mkdir(parents=True)
    env = _env(tmp_path, f'''
        case "$1" in
          env) echo go1.26.0 ;;
          mod) echo '{{"Path": "github.com/pingcap/tidb", "Dir": "{modules / "tidb"}"}}'
               echo '{{"Path": "github.com/pingcap/tidb/pkg/parser", "Dir": "{modules / "parser"}"}}' ;;
          build) while [ "$1" != "-o" ]; do shift; done
                 echo "half a binary" > "$2"
                 echo "compile: out of memory" >&2; exit 2 ;;
        esac
    ''')
    r = run_cli("sandbox", "build-tidb", env=env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: Compiling tidb-server failed (exit 2: compile: out of memory)")
    _cache_is_empty_of_binaries(tmp_path)
    assert "building tidb-server" in r.stdout


def test_a_binary_the_user_has_is_used_without_building(tmp_path: Path) -> None:
    mine = tmp_path / "tidb-server"
    mine.write_text("#!/bin/sh\n")
    mine.chmod(0o755)
    env = dict(_env(tmp_path, None), TIDB_SERVER_BIN=str(mine))
    r = run_cli("sandbox", "build-tidb", env=env)
    assert r.returncode == 0
    assert r.stdout == f"tidb-server: {mine} (from TIDB_SERVER_BIN or PATH; nothing to build)\n"
