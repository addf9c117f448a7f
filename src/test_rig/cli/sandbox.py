"""`test-rig sandbox`: start, stop, status and env of private local servers; build-tidb, build-toxiproxy."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from test_rig.cli.common import guarded
from test_rig.errors import UsageError
from test_rig.servers import binaries
from test_rig.servers.sandbox import SERVER_ALIASES, Sandbox, find_sandbox

_dir_option = click.option("--dir", "directory", default=None,
                           help="Sandbox directory (default $TEST_RIG_SANDBOX_DIR or ~/.local/state/test-rig/sandbox).")
_name_option = click.option("--name", default=None,
                            help="Run several sandboxes side by side: each name has its own directory "
                                 "(~/.local/state/test-rig/sandbox-NAME).")


def _box(directory: str | None, name: str | None, **kwargs: object) -> Sandbox:
    return Sandbox(Path(directory) if directory else None, name=name, **kwargs)  # type: ignore[arg-type]


@click.group()
def sandbox() -> None:
    """Throwaway local servers (MariaDB, MySQL, TiDB) on free loopback ports."""


@sandbox.command("start")
@_dir_option
@_name_option
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port (default: the one used last time if free, else a free one).")
@click.option("--server", type=click.Choice(sorted(SERVER_ALIASES)), default=None,
              help="mariadb (default), mysql or tidb (built once from the Go module proxy if not installed).")
@click.option("--max-connections", type=click.IntRange(10, 100_000), default=2000)
@click.option("--tls", is_flag=True, default=False,
              help="Serve TLS with a private CA (sandbox env then sets verify-identity and the CA file).")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_start(directory: str | None, name: str | None, port: int | None, server: str | None,
                  max_connections: int, tls: bool, verbose: bool) -> None:
    """Start the sandbox server (initialising it on first use)."""
    box = _box(directory, name, server=server, max_connections=max_connections, tls=tls)
    st = box.start(port)
    click.echo(f"sandbox {st.kind} running on {st.host}:{st.port} (pid {st.pid}, dir {box.dir})")
    click.echo(f'point test-rig at it with: eval "$({box.command("env")})"')


@sandbox.command("stop")
@_dir_option
@_name_option
@click.option("--destroy", is_flag=True, default=False, help="Also delete the data directory.")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_stop(directory: str | None, name: str | None, destroy: bool, verbose: bool) -> None:
    """Stop the sandbox server."""
    box = _box(directory, name)
    was = box.stop()
    if destroy:
        box.destroy()
    click.echo("sandbox stopped" if was else "no sandbox was running")


@sandbox.command("status")
@_dir_option
@_name_option
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_status(directory: str | None, name: str | None, verbose: bool) -> None:
    """Say whether the sandbox is running; exit 1 when it is not."""
    box = _box(directory, name)
    st = box.running()
    if st:
        click.echo(f"running: {st.kind} on {st.host}:{st.port} (pid {st.pid}, dir {box.dir})")
    else:
        click.echo(f"not running (dir {box.dir}); start it with `{box.command('start')}`")
        sys.exit(1)


@sandbox.command("env")
@_dir_option
@_name_option
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="The sandbox serving this loopback port, wherever its directory (one started with --dir too).")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_env(directory: str | None, name: str | None, port: int | None, verbose: bool) -> None:
    """Print shell exports that point test-rig at the sandbox."""
    box = _box(directory, name)
    if port is not None:
        if directory or name:
            raise UsageError("--port finds the sandbox by its port; give it without --dir and --name.")
        found = find_sandbox("127.0.0.1", port)
        if found is None:
            raise UsageError(f"No sandbox is running on 127.0.0.1:{port}; `test-rig sandbox status` shows the "
                             "default one, or start one with --port.")
        box = found
    for line in box.env_lines():
        click.echo(line)


def _build(name: str, force: bool, build: Callable[..., Path]) -> None:
    """Build `name` into the cache unless the user has one already (from its variable or PATH) or the cache does."""
    found = binaries.find(name)
    if found is not None and found != binaries.cached(name) and not force:
        click.echo(f"{name}: {found} (from {binaries.BINARIES[name].variable} or PATH; nothing to build)")
        return
    command = "build-" + name.removesuffix("-server")
    path = build(force=force, progress=lambda msg: click.echo(f"{command}: {msg}"))
    click.echo(f"{name}: {path}")


@sandbox.command("build-tidb")
@click.option("--force", is_flag=True, default=False, help="Build again even if the cache holds the binary.")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_build_tidb(force: bool, verbose: bool) -> None:
    """Build tidb-server once from the Go module proxy (needs Go 1.23+) into the user's cache."""
    from test_rig.servers.tidb_build import build_tidb

    _build("tidb-server", force, build_tidb)


@sandbox.command("build-toxiproxy")
@click.option("--force", is_flag=True, default=False, help="Build again even if the cache holds the binary.")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_build_toxiproxy(force: bool, verbose: bool) -> None:
    """Build toxiproxy-server (network faults for --nemesis) once with `go install` into the user's cache."""
    from test_rig.nemesis.toxiproxy import build_toxiproxy

    _build("toxiproxy-server", force, build_toxiproxy)
