"""`config-gen` and `show-config`: write a complete configuration file; show the effective one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import tomli_w

from test_rig.cli.common import VERBOSE, command, extension_options, flag, given, key_options, load_for_command, opt
from test_rig.config import extension_values, extensions, load_config
from test_rig.errors import UsageError

_FORMATS = {".json": "json", ".toml": "toml"}


def _output_for(output: str | None, fmt: str | None, force: bool) -> tuple[Path, str]:
    """Where config-gen writes and in which format; every mismatch is refused before anything is written."""
    if output is None:
        fmt = fmt or "json"
        path = Path(f"tidb_config.{fmt}")
    else:
        path = Path(output)
        suffix_fmt = _FORMATS.get(path.suffix.lower())
        if suffix_fmt is None:
            raise UsageError(f"--output {output} must end in .json or .toml (the only formats test-rig reads); "
                             "rename it.")
        if fmt is not None and fmt != suffix_fmt:
            raise UsageError(f"--format {fmt} does not match --output {output}; use a .{fmt} name or "
                             f"--format {suffix_fmt}.")
        fmt = suffix_fmt
    if path.is_dir():
        raise UsageError(f"--output {path} is a directory; give a file name such as {path / 'tidb_config.json'}.")
    if not path.parent.is_dir():
        raise UsageError(f"The directory {path.parent} does not exist; create it first or choose another --output.")
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it or choose another --output.")
    return path, fmt


@command("config-gen")
@opt("-o --output", help="Output file, .json or .toml (default tidb_config.json).")
@opt("-f --format fmt", click.Choice(["json", "toml"]), None, "File format (default: from the output's extension, "
     "else json).")
@flag("--force", "Overwrite an existing file.")
@opt("--host", help="Database host HOST:PORT.")
@opt("--username", help="Database user name.")
@opt("--database", help="Database name.")
@opt("--log-level", click.Choice(["debug", "info", "warn", "warning", "error"]))
@VERBOSE
@extension_options
def config_gen(ctx: click.Context, /, output: str | None, fmt: str | None, force: bool, **params: Any) -> None:
    """Write a complete configuration file (extensions add their own options; see --help)."""
    path, fmt = _output_for(output, fmt, force)
    mapping = {"host": "database.host", "username": "database.username", "database": "database.database",
               "log_level": "logging.level"}
    values = {dotted: params[param] for param, dotted in mapping.items() if params.get(param) is not None}
    names = {dotted: "--" + param.replace("_", "-") for param, dotted in mapping.items() if dotted in values}
    typed = {k: v for k, v in params.items() if v is not None and given(ctx, k)}
    values.update(extension_values(extensions.all(), typed))
    cfg = load_config(None, values, environ={}, cli_names=names, cwd=Path("/nonexistent")).config
    data = cfg.file_dict()
    text = tomli_w.dumps(data) if fmt == "toml" else json.dumps(data, indent=2) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"Could not write {path}: {e.strerror}; choose another --output.") from None
    click.echo(f"Configuration saved to: {path}\nUse it with any test, for example:\n  test-rig basic -c {path}\n"
               f"  test-rig isolation -c {path}\n  test-rig show-config -c {path}\n"
               "Set the password with TIDB_PASSWORD or at the prompt rather than in the file.")
    for ext in extensions.all():
        click.echo(f"extension {ext.get_extension_name()}: {ext.get_help_text()}")


@command("show-config")
@key_options
@extension_options
@flag("--sources", "Also show which source set each key.")
def show_config(ctx: click.Context, /, sources: bool, **params: Any) -> None:
    """Print the effective configuration as JSON (password masked)."""
    loaded, _, _ = load_for_command(ctx, params)
    data: dict[str, Any] = loaded.config.public_dict()
    if sources:
        data = {"config": data, "config_file": str(loaded.path) if loaded.path else None,
                "sources": loaded.sources()}
    click.echo(json.dumps(data, indent=2))


@command("report")
@click.argument("result_path", metavar="RESULT.json")
@opt("--html html_path", required=True, metavar="FILE", help="Where to write the HTML report.")
@VERBOSE
def report_cmd(ctx: click.Context, /, result_path: str, html_path: str, verbose: bool) -> None:
    """Render any command's --json result as a self-contained HTML report (e.g. later, in CI)."""
    from test_rig.report.html import rerender

    rerender(result_path, html_path)
    click.echo(f"report written to {html_path}")
