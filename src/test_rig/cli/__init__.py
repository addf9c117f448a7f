"""The command line: a thin adapter. Each command parses its options, calls one feature function and renders the
result; one module per command (or group of commands). The program's first instruction takes over SIGINT and
SIGTERM, so an interrupt at any moment ends it with one line, exit 130 or 143 and the reports asked for
(ProgramStop)."""

from __future__ import annotations

import sys

# First, before the commands' heavy imports: the recorder of SIGINT and SIGTERM (startup.py), then PROGRAM_STOP.
from test_rig import startup
from test_rig.environment import PROGRAM_STOP

try:
    if startup.is_the_program():
        # a signal from here to Program.main is taken there
        PROGRAM_STOP.install(loading=True, replacing=startup.REPLACED, early=startup.EARLY)

    from typing import Any

    import click

    from test_rig import __version__
except KeyboardInterrupt as _stop:
    if not PROGRAM_STOP.installed:  # imported by another program: its interrupt is its own
        raise
    PROGRAM_STOP.end(_stop)


class _Stopped(BaseException):
    """An interrupt carried past click, whose own handling would print "Aborted!" and exit 1."""

    def __init__(self, stop: KeyboardInterrupt) -> None:
        super().__init__()
        self.stop = stop


def _show_usage_error(self: click.UsageError, file: Any = None) -> None:
    """Bad input that click finds (an option out of range, an unknown option, a missing argument) in the form of
    the program's own: one line, `error: <what>; see '<command> --help'.` on stderr (click's own is three: usage,
    a hint, and `Error: ...`). Installed by Program.main for its run only: click has no setting for this format."""
    where = f"; see '{self.ctx.command_path} --help'" if self.ctx is not None else ""
    what = " ".join(self.format_message().split())  # click lists choices on lines of their own
    click.echo(f"error: {what.rstrip('.')}{where}.", file=file, err=file is None)


class Program(click.Group):
    """The top-level group, whose `main` ends every interrupt in order (ProgramStop.end): while click parses
    the options, in the command, and in click's own code around them."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        owner = False
        shown = click.UsageError.show
        try:
            owner = PROGRAM_STOP.begin(None if args is None else list(args))
            click.UsageError.show = _show_usage_error  # type: ignore[method-assign]
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
            click.UsageError.show = shown  # type: ignore[method-assign]
            if owner:  # run inside another program (a test): give its signals back
                PROGRAM_STOP.uninstall()

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt as e:
            raise _Stopped(e) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command's module is imported when the command is run (or its help shown): `--help` loads nothing."""
        import importlib

        from test_rig.environment import interrupt_behind

        if (entry := COMMANDS.get(cmd_name)) is None:
            return None
        try:
            module = importlib.import_module(f".{entry[0]}", __name__)
        except Exception as e:  # a signal while the module defines its classes can surface wrapped
            stop = interrupt_behind(e)
            if stop is None:
                raise
            raise stop from None
        return getattr(module, entry[1])  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in COMMANDS.items()])

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
    # Everything printed passes the same redaction as logs and reports: a user handler's error message holding the
    # password is masked on the console too. (Imported here: `--help` needs none of it.)
    from test_rig.report.files import RedactingStream

    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)

    def restore() -> None:
        sys.stdout, sys.stderr = out, err

    ctx.call_on_close(restore)


#: command -> (module in cli/, the click command in it, the line `--help` shows for it).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "basic": ("flows", "basic", "Connect, run SELECT 1, check the database and read the server version."),
    "simple-multi-connection": ("flows", "simple_multi_connection", "N state machines run the basic flow at once."),
    "multi-connection": ("flows", "multi_connection", "The basic flow on N connections under the coordinator."),
    "run": ("flows", "run_cmd", "Run Python handlers registered for states of the standard flow."),
    "bench": ("bench", "bench", "Load: point selects, sysbench's OLTP workloads, TPC-C-style, your own tasks."),
    "isolation": ("isolation", "isolation_cmd", "The Hermitage anomaly catalogue at every isolation level."),
    "job-monitor": ("jobs", "job_monitor", "Watch long-running jobs (TiDB IMPORT and DDL, MariaDB, MySQL)."),
    "gen-data": ("gendata", "gen_data", "Deterministic CSV/TSV/SQL rows and the matching CREATE TABLE."),
    "elle": ("history", "elle_cmd", "Random transactions recorded as a history and checked after Elle."),
    "hunt": ("hunt", "hunt_cmd", "Hunt logic bugs: queries checked by TLP, NoREC, plans; reduced, deduplicated."),
    "check": ("check", "check_cmd", "Check a recorded history (JSONL, Elle's JSON, Jepsen's EDN) after Elle."),
    "report": ("config", "report_cmd", "Render a command's --json result as an HTML report."),
    "config-gen": ("config", "config_gen", "Write a complete JSON or TOML configuration."),
    "show-config": ("config", "show_config", "The effective configuration as JSON, password masked."),
    "sandbox": ("sandbox", "sandbox", "A private MariaDB, MySQL or TiDB server on a 127.0.0.1 port."),
}

__all__ = ["COMMANDS", "main"]
