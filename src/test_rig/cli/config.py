"""`config-gen` and `show-config`: write a complete configuration file; show the effective one."""

from __future__ import annotations

import json
from typing import Any

import click

from test_rig.cli.common import VERBOSE, command, extension_options, key_options, typed
from test_rig.config import load_for_options, shown, write_config_file, written_lines
from test_rig.options import flag, opt


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
    for line in written_lines(write_config_file(output, fmt, typed(ctx, params), force=force)):
        click.echo(line)


@command("show-config")
@key_options
@extension_options
@flag("--sources", "Also show which source set each key.")
def show_config(ctx: click.Context, /, sources: bool, **params: Any) -> None:
    """Print the effective configuration as JSON (password masked)."""
    click.echo(json.dumps(shown(load_for_options(params.get("config_file"), typed(ctx, params)), sources=sources),
                          indent=2))


@command("report")
@click.argument("result_path", metavar="RESULT.json")
@opt("--html html_path", required=True, metavar="FILE", help="Where to write the HTML report.")
@VERBOSE
def report_cmd(ctx: click.Context, /, result_path: str, html_path: str, verbose: bool) -> None:
    """Render any command's --json result as a self-contained HTML report (e.g. later, in CI)."""
    from test_rig.report.html import rerender

    rerender(result_path, html_path)
    click.echo(f"report written to {html_path}")
