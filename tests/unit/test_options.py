"""options.py: a setting declared once on its dataclass field becomes a click option (field_options) and is read
back into the dataclass (take) — defaults, ranges, flags, repeatable options, text read by the field's parser, and
one command's own wording of a help text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
import pytest
from click.testing import CliRunner

from test_rig.errors import UsageError
from test_rig.options import field_options, option, take


def _pair(text: str) -> tuple[int, int]:
    left, _, right = text.partition(":")
    if not (left.isdigit() and right.isdigit()):
        raise UsageError(f"--pair {text}: give two whole numbers as A:B.")
    return int(left), int(right)


@dataclass(frozen=True)
class Settings:
    count: int = option(3, "How many.", low=1, high=10)
    ratio: float = option(0.5, "A ratio.", low=0, high=1)
    verbose_mode: bool = option(False, "Say more.", flag="--loud")
    shout: bool = option(True, "Shout.")
    tags: tuple[str, ...] = option((), "A tag.", flag="--tag")
    pair: tuple[int, int] = option((1, 2), "Two numbers.", parse=_pair, as_typed="1:2", metavar="A:B")


def _run(*args: str, helps: dict[str, str] | None = None) -> tuple[click.testing.Result, list[Settings]]:
    got: list[Settings] = []

    @click.command()
    @field_options(Settings, helps=helps)
    def cmd(**params: Any) -> None:
        got.append(take(params, Settings))
        assert params == {}  # every option was taken

    return CliRunner().invoke(cmd, list(args)), got


def test_defaults_come_back_as_the_fields_declare_them() -> None:
    result, got = _run()
    assert result.exit_code == 0, result.output
    assert got == [Settings()]


def test_each_kind_of_option_is_read_back_into_its_field() -> None:
    result, got = _run("--count", "7", "--ratio", "0.25", "--loud", "--no-shout", "--tag", "a", "--tag", "b",
                       "--pair", "4:5")
    assert result.exit_code == 0, result.output
    assert got == [Settings(count=7, ratio=0.25, verbose_mode=True, shout=False, tags=("a", "b"), pair=(4, 5))]


def test_a_value_out_of_its_range_is_refused_by_click() -> None:
    result, got = _run("--count", "11")
    assert (result.exit_code, got) == (2, [])
    assert "'--count': 11 is not in the range 1<=x<=10" in result.output


def test_text_the_parser_cannot_read_is_refused_with_its_sentence() -> None:
    with pytest.raises(UsageError, match=r"^--pair 4-5: give two whole numbers as A:B\.$"):
        take({"pair": "4-5"}, Settings)


def test_help_shows_the_typed_default_and_a_commands_own_wording() -> None:
    result, _ = _run("--help", helps={"count": "Workers."})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--pair A:B Two numbers. [default: 1:2]" in text
    assert "--count INTEGER RANGE Workers. [default: 3; 1<=x<=10]" in text
    assert "How many." not in text


def test_a_parsed_option_needs_its_typed_default() -> None:
    with pytest.raises(TypeError, match=r"^option\(\): `parse` and `as_typed` go together$"):
        option((1, 2), "Two numbers.", parse=_pair)


@dataclass(frozen=True)
class Wanted:
    rows: int | None = option(None, "How many rows.", low=1, required=True)


def test_a_required_option_must_be_typed() -> None:
    got: list[Wanted] = []

    @click.command()
    @field_options(Wanted)
    def cmd(**params: Any) -> None:
        got.append(take(params, Wanted))

    missing, given = CliRunner().invoke(cmd, []), CliRunner().invoke(cmd, ["--rows", "5"])
    assert (missing.exit_code, given.exit_code, got) == (2, 0, [Wanted(rows=5)])
    assert "Missing option '--rows'" in missing.output
