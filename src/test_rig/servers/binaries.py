"""Finding the programs test-rig runs: mariadbd, mysqld, tidb-server and toxiproxy-server, one table and one
search for all of them (the variable that names the binary, then PATH and the system's server directories, then
the build cache), and the sentence that says how to get one that is missing.

The pinned versions of the two Go programs are here because the cache is keyed by them; their builds are in
servers/tidb_build.py and servers/toxiproxy_build.py, named in the table and imported when run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from test_rig.errors import UsageError

#: The one TiDB version the module proxy here serves (see TIDB-FACTS.md): commit e4e814fdc0af of 2025-11-26.
TIDB_COMMIT = "e4e814fdc0afe9c3a6e5e96f129d83df802ab820"
TOXIPROXY_VERSION = "v2.12.0"

#: Where distributions install server binaries that are not on a user's PATH (mariadbd in /usr/sbin).
SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/usr/libexec")


@dataclass(frozen=True)
class Binary:
    """One program: the variable that names it (None: none does), the system directories searched after PATH,
    its folder in the build cache (None: test-rig does not build it) and how a user gets it; for one test-rig
    builds, its build (`module:function`, imported when it is run: `build(force=, progress=)`) and what the build
    does (the help of its `sandbox build-...` command)."""

    name: str
    variable: str | None
    search_dirs: tuple[str, ...] = ()
    cache_folder: tuple[str, ...] | None = None
    how_to_get: str = ""
    build: str | None = None
    build_help: str = ""


BINARIES: dict[str, Binary] = {b.name: b for b in (
    Binary("mariadbd", None, SEARCH_DIRS, how_to_get="install it with `apt-get install mariadb-server`"),
    Binary("mysqld", None, SEARCH_DIRS, how_to_get="install MySQL's server package"),
    Binary("tidb-server", "TIDB_SERVER_BIN", cache_folder=("tidb", TIDB_COMMIT),
           how_to_get="run `test-rig sandbox build-tidb` or set TIDB_SERVER_BIN",
           build="test_rig.servers.tidb_build:build_tidb",
           build_help="Build tidb-server once from the Go module proxy (needs Go 1.23+) into the user's cache."),
    Binary("toxiproxy-server", "TOXIPROXY_SERVER_BIN", cache_folder=("toxiproxy", TOXIPROXY_VERSION),
           how_to_get="run `test-rig sandbox build-toxiproxy` or set TOXIPROXY_SERVER_BIN",
           build="test_rig.servers.toxiproxy_build:build_toxiproxy",
           build_help="Build toxiproxy-server (network faults for --nemesis) once with `go install` into the user's "
                      "cache."),
)}


def cache_root() -> Path:
    """The user's test-rig cache ($XDG_CACHE_HOME/test-rig, else ~/.cache/test-rig)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "test-rig"


def cached(name: str) -> Path:
    """Where the build puts `name` (whether or not it is there yet)."""
    folder = BINARIES[name].cache_folder
    if folder is None:
        raise ValueError(f"{name} is not built by test-rig")
    return cache_root().joinpath(*folder, name)


def find(name: str) -> Path | None:
    """`name`'s binary: the file its variable names (which must be executable: UsageError otherwise), else the
    first on PATH or in its system directories, else the build cache's; None when there is none."""
    binary = BINARIES[name]
    if binary.variable is not None and (given := os.environ.get(binary.variable)):
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"{binary.variable}={given} is not an executable file; point it at a {name} binary "
                             "or unset it to let test-rig build one.")
        return path
    found = shutil.which(name)
    if found:
        return Path(found)
    for directory in binary.search_dirs:
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    if binary.cache_folder is not None and cached(name).is_file():
        return cached(name)
    return None


def require(name: str) -> Path:
    """`name`'s binary, or UsageError (exit 2) saying how to get it."""
    found = find(name)
    if found is None:
        raise UsageError(f"No {name} found; {BINARIES[name].how_to_get}.")
    return found


def ensure_built(name: str, build: Callable[..., Path] | None = None, *, force: bool = False,
                 progress: Callable[[str], None] | None = None) -> tuple[Path, bool]:
    """`name`'s binary, and True when it is the user's own (from its variable or PATH), which is left alone unless
    `force`; otherwise `build(force=, progress=)` (default: the binary's own build) puts one in the cache (a cached
    one is kept unless `force`)."""
    found = find(name)
    if found is not None and found != cached(name) and not force:
        return found, True
    if build is None:
        module, _, function = str(BINARIES[name].build).partition(":")
        build = getattr(import_module(module), function)
    return build(force=force, progress=progress), False
