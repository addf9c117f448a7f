"""The command line: a thin adapter. Each command parses its options, calls one feature function and
renders the result; one module per command (or group of commands).

The program's first instruction takes over SIGINT and SIGTERM (before the commands' heavy imports), so an
interrupt at any moment ends it with one line, exit 130 or 143 and the reports asked for (ProgramStop).
"""

from __future__ import annotations

import os
import sys

from ..environment import PROGRAM_STOP

try:
    if os.path.basename(sys.argv[0]).startswith("test-rig"):  # the console script (`python -m` installed it)
        PROGRAM_STOP.install()

    from typing import Any

    import click

    from .. import __version__
    from ..report import RedactingStream
    from .basic import basic
    from .bench import bench
    from .common import build_environment, common_options, guarded
    from .config import config_gen, report_cmd, show_config
    from .gendata import gen_data
    from .history import check_cmd, elle_cmd
    from .isolation import isolation_cmd
    from .jobs import job_monitor
    from .multi import multi_connection, simple_multi_connection
    from .run import run_cmd
    from .sandbox import sandbox
except KeyboardInterrupt as _stop:
    if not PROGRAM_STOP.installed:  # imported by another program: its interrupt is its own
        raise
    PROGRAM_STOP.end(_stop)


class _Stopped(BaseException):
    """An interrupt carried past click, whose own handling would print "Aborted!" and exit 1."""

    def __init__(self, stop: KeyboardInterrupt) -> None:
        super().__init__()
        self.stop = stop


class Program(click.Group):
    """The top-level group, whose `main` ends every interrupt in order (ProgramStop.end): while click parses
    the options, in the command, and in click's own code around them."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        owner = False
        try:
            owner = PROGRAM_STOP.install(None if args is None else list(args))
            if not owner:
                PROGRAM_STOP.reset(None if args is None else list(args))
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        except _Stopped as e:
            PROGRAM_STOP.end(e.stop)
        except KeyboardInterrupt as e:  # in click's own code, outside the command
            PROGRAM_STOP.end(e)
        except SystemExit:
            # A signal that click or a command swallowed still ends the program as an interrupt.
            if PROGRAM_STOP.interrupted_by is not None:
                PROGRAM_STOP.end()
            raise
        finally:
            if owner:  # run inside another program (a test): give its signals back
                PROGRAM_STOP.uninstall()

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt as e:
            raise _Stopped(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise _Stopped(e) from None
        finally:
            # The command has printed its last byte: a signal from now on cannot interrupt anything, and
            # must not raise in click's teardown or the interpreter's shutdown.
            PROGRAM_STOP.finish()


@click.group(cls=Program, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="test-rig")
@click.pass_context
def main(ctx: click.Context) -> None:
    """test-rig: test TiDB, MySQL and MariaDB servers — connections, concurrency, isolation, resilience."""
    # Everything printed passes the same redaction as logs and reports: a user handler's error
    # message holding the password is masked on the console too.
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)

    def restore() -> None:
        sys.stdout, sys.stderr = out, err

    ctx.call_on_close(restore)


for _command in (basic, simple_multi_connection, multi_connection, run_cmd, bench, isolation_cmd, job_monitor,
                 gen_data, elle_cmd, check_cmd, report_cmd, config_gen, show_config, sandbox):
    main.add_command(_command)

__all__ = ["build_environment", "common_options", "guarded", "main"]
