"""What every command shares: the common options, the Environment built from them, `finish` (run the feature,
print its result's lines, conclude), and `guarded`, which turns every ending (an error, Ctrl-C, SIGTERM, a crash)
into one sentence, the right exit status and a report. Only options typed on the command line override the
environment or a config file (`typed`)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from test_rig.environment import PROGRAM_STOP, Environment, end_with_error, interrupt_behind, run_feature
from test_rig.options import field_options, flag, opt, stack

# The configuration system (pydantic-settings) and the nemesis are imported by the functions that use them, not
# here: a command that needs no configuration (check, report) starts without it.
if TYPE_CHECKING:
    from test_rig.nemesis import NemesisSpec
    from test_rig.report.files import Suite
    from test_rig.results import RunResult

F = TypeVar("F", bound=Callable[..., Any])

VERBOSE = flag("-v --verbose")
_LEVELS = click.Choice(["debug", "info", "warn", "warning", "error"], case_sensitive=False)
_connection_options = stack(
    opt("-c --config config_file", str, None,
        "Configuration file (JSON or TOML). Default: ./tidb_config.json or .toml if present."),
    opt("-H --host", help="Database host as HOST:PORT (default localhost:4000)."),
    opt("-u --user", help="Database user name (default root)."),
    opt("-d --database", help="Database name (default test)."),
    opt("--password", help="Password (prefer TIDB_PASSWORD or the prompt)."))
#: The original's options, on every test subcommand, plus --json and --junit.
common_options = stack(
    _connection_options,
    flag("--no-password-prompt", "Never prompt for a password; use an empty one when none is configured."),
    opt("--log-level", _LEVELS, None, "Log level."),
    flag("--log-file log_file", "Also log to a file."),
    opt("--log-file-path", help="Log file path (implies --log-file)."),
    flag("-v --verbose", "Debug logging and tracebacks on errors."),
    opt("--json json_path", metavar="FILE",
        help="Write the machine-readable result here (also when the run fails or is interrupted)."),
    opt("--junit junit_path", metavar="FILE", help="Write JUnit XML here."))
#: Only the options that set configuration keys (show-config runs nothing: no --json, --junit or --log-file).
key_options = stack(_connection_options, opt("--log-level", _LEVELS, None, "logging.level to show."),
                           opt("--log-file-path", help="logging.file to show."), VERBOSE)
#: The common options and --html FILE, on the commands whose results have an HTML report.
html_options = stack(common_options, opt("--html html_path", metavar="FILE",
                                         help="Also write a self-contained HTML report here (works offline)."))


def nemesis_options(fn: F) -> F:
    """The common options, --html, and --nemesis with its settings (nemesis.NemesisOptions): those of every
    free-running command, whose module imports the nemesis anyway."""
    from test_rig.nemesis import OPTIONS, NemesisOptions

    decorated: F = stack(html_options, field_options(NemesisOptions, *OPTIONS))(fn)
    return decorated


def nemesis_spec(ctx: click.Context, params: dict[str, Any], seed: int = 0) -> NemesisSpec | None:
    """The NemesisSpec the nemesis options ask for (nemesis.spec_from_options), taking them out of `params`."""
    from test_rig.nemesis import OPTIONS, spec_from_options

    values = {name: params.pop(name, None) for name in OPTIONS}
    return spec_from_options(values, typed(ctx, values), seed)


def extension_options(fn: F) -> F:
    """Add every registered config extension's options."""
    from test_rig.config import extensions

    for ext in extensions.all():
        fn = stack(*ext.cli_options())(fn)
    return fn


def given(ctx: click.Context, /, name: str) -> bool:
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


#: The options that say which server and user to connect as (a command that connects to none, or to several
#: configured connections, notes that it does not use them).
CONNECTION_OPTIONS = ("host", "user", "database", "password")


def typed_flags(ctx: click.Context, /, names: tuple[str, ...]) -> list[str]:
    """How --help spells each option of `names` the user gave on the command line (e.g. "-H/--host")."""
    return ["/".join(p.opts) for p in ctx.command.params if p.name in names and given(ctx, str(p.name))]


Lines = Callable[[dict[str, Any]], list[Any]]
Suites = Callable[[dict[str, Any]], list["Suite"]]


def finish(env: Environment, feature: Callable[[], Coroutine[Any, Any, RunResult]], lines: Lines,
           suites: Suites | None = None) -> NoReturn:
    """Run `feature` (run_feature: also its partial result when interrupted) and `conclude` with its result."""
    conclude(env, run_feature(feature), lines, suites)


def conclude(env: Environment, result: RunResult, lines: Lines, suites: Suites | None = None) -> NoReturn:
    """Print `result`'s `lines` (as written: str or rich Text), and end with `env.conclude` (reports, verdict, exit
    status; JUnit of its `suites`, else one of the command); for a feature that runs its own event loops (elle) or
    none (check)."""
    data = result.to_dict()
    env.say(*lines(data))
    env.conclude(data, suites(data) if suites else None)


def typed(ctx: click.Context, /, params: dict[str, Any]) -> dict[str, Any]:
    """The options of `params` the user gave on the command line, with their values."""
    return {name: value for name, value in params.items() if value is not None and given(ctx, name)}


def build_environment(ctx: click.Context, /, params: dict[str, Any], *, prompt: bool = True,
                      own: str | None = None) -> Environment:
    """The run's Environment of the command's options (Environment.from_options; the password prompt on a
    terminal, unless not `prompt`); a note that -d/--database is ignored by a command that runs in `own` schemas."""
    ask = (lambda text: str(click.prompt(text, hide_input=True, default="", show_default=False))
           ) if prompt and sys.stdin.isatty() else None
    ctx.obj = env = Environment.from_options(command_name(ctx), params, typed(ctx, params), ask_password=ask)
    if own and given(ctx, "database"):
        env.say(f"note: -d/--database is ignored: {ctx.info_name} runs in {own}, dropped at the end")
    return env


def command_name(ctx: click.Context) -> str:
    """The subcommand as typed, e.g. "bench point-select" (its path without the program's name)."""
    return ctx.command_path.removeprefix(ctx.find_root().command_path).strip()


def _current_env() -> Environment | None:
    ctx = click.get_current_context(silent=True)
    obj = ctx.obj if ctx is not None else None
    return obj if isinstance(obj, Environment) else None


def guarded(fn: F) -> F:
    """Turn every ending into one clear sentence and an exit status (tracebacks only with -v), and
    make sure a report was written: a command that failed before writing its own gets one with
    `ok: false` and the error; an interrupted one's says `complete: false` (ProgramStop.end)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except KeyboardInterrupt as e:
            PROGRAM_STOP.end_command(e, _current_env())
        except Exception as e:
            stop = interrupt_behind(e)
            if stop is not None:
                PROGRAM_STOP.end_command(stop, _current_env())
            end_with_error(e, _current_env(), verbose=bool(kwargs.get("verbose")))

    return wrapper  # type: ignore[return-value]


def command(name: str) -> Callable[[Callable[..., None]], click.Command]:
    """The command `name` of the function it decorates, called with the context and every ending guarded (the
    options the function was decorated with stay on it)."""
    return lambda fn: click.command(name)(click.pass_context(guarded(fn)))
