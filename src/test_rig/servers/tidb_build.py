"""Getting a `tidb-server`: a binary the user already has, or one built once from the Go module proxy.

The TiDB server is the Go module github.com/pingcap/tidb. Its release tags are not usable Go
versions and `go install` cannot build it (its go.mod replaces the nested parser module with a
path that a module zip never contains), so the build downloads both modules at one pinned
pseudo-version, lays the parser module inside a writable copy of the server module and runs
`go build` there. Nothing is patched; nothing comes from anywhere but the Go module proxy.

The binary is cached per commit under the user's cache directory and written atomically: a build
that fails or is interrupted leaves nothing in the cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from test_rig.errors import UsageError
from test_rig.servers import binaries
from test_rig.servers.binaries import TIDB_COMMIT

TIDB_MODULE = "github.com/pingcap/tidb"
TIDB_VERSION = "v1.1.0-beta.0.20251126154744-e4e814fdc0af"
PARSER_MODULE = "github.com/pingcap/tidb/pkg/parser"
PARSER_VERSION = "v0.0.0-20251126154744-e4e814fdc0af"
MIN_GO = (1, 23)


class BuildError(UsageError):
    """The build could not be done (no Go, too old a Go, a failed download or compile): exit 2."""


def cached_binary() -> Path:
    return binaries.cached("tidb-server")


def find_tidb_server() -> Path | None:
    """A tidb-server to use without building: $TIDB_SERVER_BIN, then PATH, then the build cache."""
    return binaries.find("tidb-server")


@dataclass(frozen=True)
class GoToolchain:
    path: Path
    version: tuple[int, int]


def find_go(go: str | None = None, *, what: str = "tidb-server", instead: str = "TIDB_SERVER_BIN") -> GoToolchain:
    """The `go` on PATH (or $GO), checked to be recent enough for the module. Raises BuildError.
    `what` names what is to be built and `instead` the variable that points at a binary one already has."""
    exe = go or os.environ.get("GO") or shutil.which("go")
    if not exe:
        raise BuildError(f"Building {what} needs Go 1.23 or newer and no `go` was found on PATH; install it "
                         f"from go.dev (Debian 12's golang-go is 1.19, too old) or set {instead} to a "
                         f"{what} you already have.")
    try:
        out = subprocess.run([exe, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        raise BuildError(f"`{exe} env GOVERSION` failed ({e}); check the Go installation.") from None
    m = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if not m:
        raise BuildError(f"Could not read the Go version from {exe!r} ({out.stdout.strip()!r}); install Go 1.23+.")
    version = (int(m.group(1)), int(m.group(2)))
    if version < MIN_GO:
        raise BuildError(f"Go {version[0]}.{version[1]} at {exe} is too old to build {what} (it needs 1.23 or "
                         f"newer); install a newer Go from go.dev and put it first on PATH, or set {instead}.")
    return GoToolchain(Path(exe), version)


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], what: str, log: Path) -> str:
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(argv)}\n")
        f.flush()
        done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=f, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
        raise BuildError(f"{what} failed (exit {done.returncode}: {tail[0][:300]}); the full output is in {log}.")
    return done.stdout


def build_tidb(*, go: str | None = None, force: bool = False,
               progress: Callable[[str], None] | None = None) -> Path:
    """Build tidb-server at the pinned commit into the cache, unless it is there already. Returns its path.

    Raises BuildError (exit 2) when Go is missing or too old or the build fails; then nothing is
    left in the cache.
    """
    say = progress or (lambda _msg: None)
    target = cached_binary()
    if target.is_file() and not force:
        return target
    toolchain = find_go(go)
    say(f"building tidb-server {TIDB_COMMIT[:12]} with Go {toolchain.version[0]}.{toolchain.version[1]} "
        "(about 7 minutes on 2 cores; once per machine)")
    target.parent.mkdir(parents=True, exist_ok=True)
    log = target.parent / "build.log"
    log.write_text("")
    env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local", CGO_ENABLED="0")
    with tempfile.TemporaryDirectory(prefix="test-rig-tidb-build-") as tmp:
        work = Path(tmp)
        say("downloading the tidb and parser modules from the Go module proxy")
        out = _run([str(toolchain.path), "mod", "download", "-json", f"{TIDB_MODULE}@{TIDB_VERSION}",
                    f"{PARSER_MODULE}@{PARSER_VERSION}"], cwd=work, env=env, what="Downloading the modules", log=log)
        dirs = _module_dirs(out)
        src = work / "tidb"
        shutil.copytree(dirs[TIDB_MODULE], src, symlinks=True)
        _make_writable(src)
        parser = src / "pkg" / "parser"
        if parser.exists():
            shutil.rmtree(parser)
        shutil.copytree(dirs[PARSER_MODULE], parser, symlinks=True)
        _make_writable(parser)
        say("compiling ./cmd/tidb-server")
        partial = target.parent / f".tidb-server.partial-{os.getpid()}"
        try:
            _run([str(toolchain.path), "build", "-trimpath", "-o", str(partial),
                  "-ldflags", f"-X github.com/pingcap/tidb/pkg/util/versioninfo.TiDBGitHash={TIDB_COMMIT}",
                  "./cmd/tidb-server"], cwd=src, env=env, what="Compiling tidb-server", log=log)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    say(f"built {target}")
    return target


def _module_dirs(go_json: str) -> dict[str, Path]:
    """Module path → its directory in the module cache, from `go mod download -json` output."""
    dirs: dict[str, Path] = {}
    decoder = json.JSONDecoder()
    text = go_json.strip()
    i = 0
    while i < len(text):
        obj, end = decoder.raw_decode(text, i)
        if obj.get("Error"):
            raise BuildError(f"The Go module proxy refused {obj.get('Path')}@{obj.get('Version')}: {obj['Error']}.")
        dirs[obj["Path"]] = Path(obj["Dir"])
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    missing = {TIDB_MODULE, PARSER_MODULE} - set(dirs)
    if missing:
        raise BuildError(f"`go mod download` did not return {', '.join(sorted(missing))}.")
    return dirs


def _make_writable(root: Path) -> None:
    """The module cache is read-only; the copy must not be, so it can be changed and removed."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            p = Path(dirpath) / name
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
    root.chmod(root.stat().st_mode | stat.S_IWUSR)
