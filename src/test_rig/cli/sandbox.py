"""`test-rig sandbox`: start, stop, status and env of private local servers; a build-... command for each binary
test-rig builds (servers.binaries: build-tidb, build-toxiproxy)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from test_rig.cli.common import VERBOSE, guarded
from test_rig.errors import UsageError
from test_rig.options import flag, opt, stack
from test_rig.servers import binaries
from test_rig.servers.sandbox import SERVER_ALIASES, Sandbox, serving

_PORT = click.IntRange(1, 65535)


@click.group()
def sandbox() -> None:
    """Throwaway local servers (MariaDB, MySQL, TiDB) on free loopback ports."""


def _command(name: str, *options: Callable[[Any], Any]) -> Callable[[Callable[..., None]], click.Command]:
    """The sandbox command `name`: --dir and --name choose the sandbox, then `options`, then -v."""
    return lambda fn: sandbox.command(name)(stack(
        opt("--dir directory", help="Sandbox directory (default $TEST_RIG_SANDBOX_DIR or "
            "~/.local/state/test-rig/sandbox)."),
        opt("--name", help="Run several sandboxes side by side: each name has its own directory "
            "(~/.local/state/test-rig/sandbox-NAME)."), *options, VERBOSE)(guarded(fn)))


@_command("start", opt("--port", _PORT, help="Port (default: the one used last time if free, else a free one)."),
          opt("--server", click.Choice(sorted(SERVER_ALIASES)),
              help="mariadb (default), mysql or tidb (built once from the Go module proxy if not installed)."),
          opt("--max-connections", click.IntRange(10, 100_000), 2000, show_default=None),
          flag("--tls", "Serve TLS with a private CA (sandbox env then sets verify-identity and the CA file)."))
def sandbox_start(directory: str | None, name: str | None, port: int | None, server: str | None,
                  max_connections: int, tls: bool, verbose: bool) -> None:
    """Start the sandbox server (initialising it on first use)."""
    box = Sandbox(directory, name=name, server=server, max_connections=max_connections, tls=tls)
    st = box.start(port)
    click.echo(f"sandbox {st.kind} running on {st.host}:{st.port} (pid {st.pid}, dir {box.dir})")
    click.echo(f'point test-rig at it with: eval "$({box.command("env")})"')


@_command("stop", flag("--destroy", "Also delete the data directory."))
def sandbox_stop(directory: str | None, name: str | None, destroy: bool, verbose: bool) -> None:
    """Stop the sandbox server."""
    box = Sandbox(directory, name=name)
    was = box.stop()
    if destroy:
        box.destroy()
    click.echo("sandbox stopped" if was else "no sandbox was running")


@_command("status")
def sandbox_status(directory: str | None, name: str | None, verbose: bool) -> None:
    """Say whether the sandbox is running; exit 1 when it is not."""
    box = Sandbox(directory, name=name)
    st = box.running()
    if st:
        click.echo(f"running: {st.kind} on {st.host}:{st.port} (pid {st.pid}, dir {box.dir})")
    else:
        click.echo(f"not running (dir {box.dir}); start it with `{box.command('start')}`")
        sys.exit(1)


@_command("env", opt("--port", _PORT, help="The sandbox serving this loopback port, wherever its directory (one "
                     "started with --dir too)."))
def sandbox_env(directory: str | None, name: str | None, port: int | None, verbose: bool) -> None:
    """Print shell exports that point test-rig at the sandbox."""
    box = Sandbox(directory, name=name)
    if port is not None:
        if directory or name:
            raise UsageError("--port finds the sandbox by its port; give it without --dir and --name.")
        box = serving(port)
    for line in box.env_lines():
        click.echo(line)


def _build_command(binary: binaries.Binary) -> click.Command:
    """`sandbox build-X`: build `binary` into the cache unless the user has one already (from its variable or
    PATH)."""
    command = "build-" + binary.name.removesuffix("-server")

    def run(force: bool, verbose: bool) -> None:
        path, own = binaries.ensure_built(binary.name, force=force,
                                          progress=lambda msg: click.echo(f"{command}: {msg}"))
        click.echo(f"{binary.name}: {path}" + (f" (from {binary.variable} or PATH; nothing to build)" if own else ""))

    run.__doc__ = binary.build_help
    return sandbox.command(command)(stack(flag("--force", "Build again even if the cache holds the binary."),
                                          VERBOSE)(guarded(run)))


for _binary in binaries.BINARIES.values():
    if _binary.build is not None:
        _build_command(_binary)
