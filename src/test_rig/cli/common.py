"""What every command shares: the original's options, configuration loading, the Environment,
report paths checked before the run, and `guarded`, which turns every ending (an error, Ctrl-C,
SIGTERM, a crash) into one clear sentence, the right exit status and a report.

Options the user did not type never override the environment or a config file: every config
option defaults to None and only values whose click ParameterSource is the command line are
passed on.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from test_rig.environment import PROGRAM_STOP, Environment, end_with_error, run_feature
from test_rig.errors import UsageError, signal_name
from test_rig.report.files import check_report_path

# The configuration system (pydantic-settings) is imported by the functions that load a configuration, not
# here: a command that needs none (check, report) starts without it.
if TYPE_CHECKING:
    from test_rig.config import ConfigExtension, LoadedConfig
    from test_rig.db import Target
    from test_rig.nemesis import Nemesis, NemesisSpec

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["build_environment", "check_report_path", "common_options", "guarded", "html_option", "nemesis_options",
           "nemesis_spec", "run_feature", "show_nemesis", "signal_name", "start_nemesis"]

#: option parameter name → (dotted config key, how the user spells it)
COMMON_KEYS: dict[str, tuple[str, str]] = {
    "host": ("database.host", "-H/--host"),
    "user": ("database.username", "-u/--user"),
    "database": ("database.database", "-d/--database"),
    "password": ("database.password", "--password"),
    "log_level": ("logging.level", "--log-level"),
    "log_file_path": ("logging.file", "--log-file-path"),
    "monitor_duration": ("monitor.monitor_duration", "-t/--monitor-duration"),
    "update_interval": ("monitor.update_interval", "--update-interval"),
    "show_details": ("monitor.show_details", "--show-details"),
}

_CONNECTION_OPTIONS = [
    click.option("-c", "--config", "config_file", type=str, default=None,
                 help="Configuration file (JSON or TOML). Default: ./tidb_config.json or .toml if present."),
    click.option("-H", "--host", default=None, help="Database host as HOST:PORT (default localhost:4000)."),
    click.option("-u", "--user", default=None, help="Database user name (default root)."),
    click.option("-d", "--database", default=None, help="Database name (default test)."),
    click.option("--password", default=None, help="Password (prefer TIDB_PASSWORD or the prompt)."),
]

_RUN_OPTIONS = [
    click.option("--no-password-prompt", is_flag=True, default=False,
                 help="Never prompt for a password; use an empty one when none is configured."),
    click.option("--log-level", default=None,
                 type=click.Choice(["debug", "info", "warn", "warning", "error"], case_sensitive=False),
                 help="Log level."),
    click.option("--log-file", "log_file", is_flag=True, default=False, help="Also log to a file."),
    click.option("--log-file-path", default=None, help="Log file path (implies --log-file)."),
    click.option("-v", "--verbose", is_flag=True, default=False, help="Debug logging and tracebacks on errors."),
    click.option("--json", "json_path", default=None, metavar="FILE",
                 help="Write the machine-readable result here (also when the run fails or is interrupted)."),
    click.option("--junit", "junit_path", default=None, metavar="FILE", help="Write JUnit XML here."),
]


def _apply(fn: F, options: list[Any]) -> F:
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def common_options(fn: F) -> F:
    """The original's options, on every test subcommand, plus --json and --junit."""
    return _apply(fn, _CONNECTION_OPTIONS + _RUN_OPTIONS)


def connection_options(fn: F) -> F:
    """Only the options that set configuration keys (for show-config, which runs nothing and so takes
    no --json, --junit or --log-file)."""
    keys = [click.option("--log-level", default=None,
                         type=click.Choice(["debug", "info", "warn", "warning", "error"], case_sensitive=False),
                         help="logging.level to show."),
            click.option("--log-file-path", default=None, help="logging.file to show."),
            click.option("-v", "--verbose", is_flag=True, default=False)]
    return _apply(fn, [*_CONNECTION_OPTIONS, *keys])


def html_option(fn: F) -> F:
    """--html FILE, on the commands whose results have an HTML report."""
    return _apply(fn, [click.option("--html", "html_path", default=None, metavar="FILE",
                                    help="Also write a self-contained HTML report here (works offline).")])


_NEMESIS_OPTIONS = [
    click.option("--nemesis", "nemesis_kinds", default=None, metavar="KIND[,KIND...]",
                 help="Faults during the run: kill, pause, kill-connections, latency, bandwidth, reset, partition "
                      "(the last four through Toxiproxy). They take turns."),
    click.option("--nemesis-interval", type=float, default=None, metavar="S",
                 help="Seconds from one fault's start to the next (default 10)."),
    click.option("--nemesis-duration", type=float, default=None, metavar="S",
                 help="Seconds each fault lasts before it is healed (default half the interval)."),
    click.option("--nemesis-command", "nemesis_commands", multiple=True, metavar="ACTION=COMMAND",
                 help="Shell command for kill, start, pause or resume of a server test-rig does not control."),
    click.option("--nemesis-latency", type=click.FloatRange(0, 60_000), default=50.0, show_default=True,
                 metavar="MS", help="Latency the `latency` fault adds to each reply."),
    click.option("--nemesis-jitter", type=click.FloatRange(0, 60_000), default=0.0, show_default=True,
                 metavar="MS", help="Jitter of that latency."),
    click.option("--nemesis-bandwidth", type=click.IntRange(1, None), default=64, show_default=True,
                 metavar="KB/S", help="Reply bandwidth under the `bandwidth` fault."),
    click.option("--toxiproxy", "toxiproxy_url", default=None, envvar="TOXIPROXY_URL", metavar="URL",
                 help="A running Toxiproxy's API (default: start toxiproxy-server on loopback for the run)."),
]
_NEMESIS_KEYS = ("nemesis_kinds", "nemesis_interval", "nemesis_duration", "nemesis_commands", "nemesis_latency",
                 "nemesis_jitter", "nemesis_bandwidth", "toxiproxy_url")


def nemesis_options(fn: F) -> F:
    """--nemesis and its settings, on every free-running command."""
    return _apply(fn, _NEMESIS_OPTIONS)


def nemesis_spec(ctx: click.Context, params: dict[str, Any], seed: int = 0) -> Any:
    """The NemesisSpec the options ask for (None without --nemesis), taking its keys out of `params`.
    Raises UsageError for a kind, interval or command that cannot be used."""
    from test_rig.nemesis import NemesisSpec, parse_commands, parse_kinds

    values = {k: params.pop(k, None) for k in _NEMESIS_KEYS}
    if values["nemesis_kinds"] is None:
        typed = [k for k in _NEMESIS_KEYS if k != "nemesis_kinds"
                 and ctx.get_parameter_source(k) is ParameterSource.COMMANDLINE]
        if typed:
            raise UsageError(f"--{typed[0].replace('_url', '').replace('_commands', '-command').replace('_', '-')} "
                             "has no effect without --nemesis KIND; add it or leave the option out.")
        return None
    interval = values["nemesis_interval"] if values["nemesis_interval"] is not None else 10.0
    return NemesisSpec(parse_kinds(values["nemesis_kinds"]), interval=interval, duration=values["nemesis_duration"],
                       commands=parse_commands(values["nemesis_commands"] or ()),
                       latency_ms=values["nemesis_latency"], jitter_ms=values["nemesis_jitter"],
                       bandwidth_kbps=values["nemesis_bandwidth"], toxiproxy=values["toxiproxy_url"], seed=seed)


def start_nemesis(env: Environment, spec: NemesisSpec | None, target: Target) -> Nemesis | None:
    """nemesis.start_nemesis printing to the run's console (kept for the commands not yet moved to a feature that
    starts its own)."""
    from test_rig.nemesis import start_nemesis as start

    return start(spec, target, lambda line: env.console.print(line, markup=False))


def show_nemesis(env: Environment, nemesis: Nemesis) -> None:
    """Print what `nemesis` will do, and each fault's start and end (a feature's nemesis, shown by its command)."""
    from test_rig.nemesis import announce

    announce(nemesis, lambda line: env.console.print(line, markup=False))


def extension_options(fn: F) -> F:
    """Add every registered config extension's options."""
    from test_rig.config import extensions

    for ext in extensions.all():
        fn = _apply(fn, list(ext.cli_options()))
    return fn


def given(ctx: click.Context, /, name: str) -> bool:
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


def cli_overrides(ctx: click.Context, /, params: dict[str, Any],
                  exts: list[ConfigExtension] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for param, (dotted, flag) in COMMON_KEYS.items():
        if param in params and params[param] is not None and given(ctx, param):
            values[dotted] = params[param]
            names[dotted] = flag
    typed = {k: v for k, v in params.items() if v is not None and k in ctx.params and given(ctx, k)}
    for param, value in typed.items():  # one at a time, so each key is named after the option that set it
        from test_rig.config import extension_values

        for dotted, mapped in extension_values(exts or [], {param: value}).items():
            values[dotted] = mapped
            names[dotted] = "--" + param.replace("_", "-")
    return values, names


def load_for_command(ctx: click.Context, /, params: dict[str, Any]) -> tuple[LoadedConfig, dict[str, Any],
                                                                           dict[str, str]]:
    """The effective configuration for a command's options; also the option values and names it used."""
    from test_rig.config import extensions, load_config

    values, names = cli_overrides(ctx, params, extensions.all())
    return load_config(params.get("config_file"), values, cli_names=names), values, names


def build_environment(ctx: click.Context, /, params: dict[str, Any], *, prompt: bool = True) -> Environment:
    """The run's Environment from the command's options (report paths checked first; the password asked for
    when none is configured and stdin is a terminal)."""
    for option in ("json", "junit", "html"):
        check_report_path(params.get(f"{option}_path"), f"--{option}")
    loaded, values, names = load_for_command(ctx, params)
    database = loaded.config.database
    if prompt and database.password is None and not params.get("no_password_prompt") and sys.stdin.isatty():
        values["database.password"] = click.prompt(f"Password for {database.username}@{database.host}",
                                                   hide_input=True, default="", show_default=False)
        from test_rig.config import load_config

        loaded = load_config(params.get("config_file"), values, cli_names=names)
    ctx.obj = Environment.open(loaded, command_name(ctx), verbose=bool(params.get("verbose")),
                               log_file=bool(params.get("log_file")),
                               json_path=params.get("json_path"), junit_path=params.get("junit_path"),
                               html_path=params.get("html_path"))
    return ctx.obj  # type: ignore[no-any-return]


def command_name(ctx: click.Context) -> str:
    """The subcommand as typed, e.g. "bench point-select"."""
    names: list[str] = []
    node: click.Context | None = ctx
    while node is not None and node.parent is not None:
        names.append(str(node.info_name))
        node = node.parent
    return " ".join(reversed(names))


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
            end_with_error(e, _current_env(), verbose=bool(kwargs.get("verbose")))

    return wrapper  # type: ignore[return-value]
