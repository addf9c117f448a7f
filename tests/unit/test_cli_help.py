"""Every command's --help, read as a user reads it: no option shows click's rendering of a missing bound."""

from __future__ import annotations

import click
from click.testing import CliRunner

from test_rig.cli import main


def _commands() -> list[list[str]]:
    """Every command path, subcommands of groups (bench, sandbox) included."""
    ctx = click.Context(main)
    paths: list[list[str]] = []
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.list_commands(ctx)]
    return paths


def test_no_help_shows_an_unbounded_range() -> None:
    """A float option made finite showed `[x<=None]` in --help (an unbounded FloatRange)."""
    paths = _commands()
    assert len(paths) > 30
    for path in paths:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "None]" not in result.output, path
