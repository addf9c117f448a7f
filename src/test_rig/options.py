"""Settings that are also command-line options: a feature declares each one once, on its dataclass field (its
default, help text, range or choices), and the command line makes its options from those fields
(cli.common.field_options), so a default or a help text is never written twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import Field, field
from typing import Any


def option(default: Any, help: str | None = None, *, choices: Sequence[str] | None = None,
           low: float | None = None, high: float | None = None, flag: str | None = None,
           metavar: str | None = None, envvar: str | None = None) -> Any:
    """A dataclass field that is an option: `default`, the `help` text, the `choices` it takes or the range
    [`low`, `high`] it must be in, the `flag` the user types (default `--field-name`), the `metavar` --help
    shows for its value and the environment variable that gives it when the flag is not typed. A tuple field is a
    repeatable option."""
    spelling = {"help": help, "choices": choices, "low": low, "high": high, "flag": flag, "metavar": metavar,
                "envvar": envvar}
    return field(default=default, metadata={key: value for key, value in spelling.items() if value is not None})


def flag_of(declared: Field[Any]) -> str:
    """The flag the user types for the option field `declared`: its own, else `--field-name`."""
    return str(declared.metadata.get("flag", "--" + declared.name.replace("_", "-")))
