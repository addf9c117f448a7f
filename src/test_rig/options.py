"""Settings that are also command-line options: a feature declares each one once, on its dataclass field (its
default, help text, range or choices: `option`), and the commands make their click options from those fields
(`field_options`) and read them back into the dataclass (`take`), so a default or a help text is never written
twice. The small click helpers every command uses (`opt`, `flag`, `stack`) are here too: they are how an option is
made, not what a command does (cli/ only says which options a command has)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, field
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
D = TypeVar("D")

#: The longest run a duration option accepts: a year (job-monitor's bound too). Beyond it no timer is reliable,
#: and a run that long was a typo (`--duration 1e9` was accepted and its per-second figures filled the memory).
LONGEST_SECONDS = 31_536_000


def option(default: Any, help: str | None = None, *, choices: Sequence[str] | None = None,
           low: float | None = None, high: float | None = None, above: bool = False, flag: str | None = None,
           metavar: str | None = None, envvar: str | None = None, parse: Callable[[str], Any] | None = None,
           as_typed: str | None = None, required: bool = False, onoff: bool = False) -> Any:
    """A dataclass field that is an option: `default`, the `help` text, the `choices` it takes or the range
    [`low`, `high`] it must be in (`above`: more than `low`), the `flag` the user types (default `--field-name`),
    the `metavar` --help shows for its value and the environment variable that gives it when the flag is not
    typed; a `required` one must be typed (its default, None, is never used). A tuple field is a repeatable option;
    one with `parse` is typed as text, read into the field's value by `parse` (which raises UsageError for text it
    cannot read), with `as_typed`, the default as it is typed; an `onoff` bool is typed as sysbench's are
    (`--skip-trx`, `--skip-trx on`, `--skip-trx=off`)."""
    if (parse is None) != (as_typed is None):  # the default must reach `parse` as text, as the user would type it
        raise TypeError("option(): `parse` and `as_typed` go together")
    spelling = {"help": help, "choices": choices, "low": low, "high": high, "above": above or None, "flag": flag,
                "metavar": metavar, "envvar": envvar, "parse": parse, "as_typed": as_typed,
                "required": required or None, "onoff": onoff or None}
    return field(default=default, metadata={key: value for key, value in spelling.items() if value is not None})


def flag_of(declared: Field[Any]) -> str:
    """The flag the user types for the option field `declared`: its own, else `--field-name`."""
    return str(declared.metadata.get("flag", "--" + declared.name.replace("_", "-")))


class _FiniteFloat(click.types.FloatParamType):
    """click's float without inf and nan: `--duration nan` passed every bound (no comparison with NaN is true) and
    ended in a confusing error mid-run; `inf` meant a run without end. Unbounded, its --help says FLOAT (an
    unbounded range would say `[x<=None]`)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        # a float first, then finite, then (for _Finite) in its range: `inf` is "not a finite number", not "not in
        # the range 0.1<=x<=31536000"
        number = click.types.FloatParamType.convert(self, value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


class _Finite(_FiniteFloat, click.FloatRange):
    """A finite float within a range: _FiniteFloat's check, then click.FloatRange's bounds (the method order)."""


def _finite(type: Any) -> Any:
    if type is float:
        return _FiniteFloat()
    if isinstance(type, click.FloatRange) and not isinstance(type, _Finite):
        return _Finite(type.min, type.max, min_open=type.min_open, max_open=type.max_open, clamp=type.clamp)
    return type


def opt(decls: str, type: Any = None, default: Any = None, help: str | None = None, **more: Any) -> Callable[[F], F]:
    """click.option on one line: `decls` space-separated ("-c --config config_file"); a default is shown in --help
    (unless `show_default` says otherwise); a repeated or required option has none unless given. A float is
    finite (_Finite)."""
    type = _finite(type)
    if default is not None:
        more = {"default": default, "show_default": True} | more
    elif not (more.get("multiple") or more.get("required")):
        more["default"] = None
    return click.option(*decls.split(), type=type, help=help, **more)


def flag(decls: str, help: str | None = None, **more: Any) -> Callable[[F], F]:
    """An on/off click option, off unless given."""
    return click.option(*decls.split(), is_flag=True, default=False, help=help, **more)


def stack(*options: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator of `options` (click options or such decorators), listed in --help in the order given."""
    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


#: The click type of a field's annotation (a string, under `from __future__ import annotations`), without `| None`.
_FIELD_TYPES: dict[str, Any] = {"int": int, "float": float, "str": None, "bool": None}
_RANGES: dict[str, Any] = {"int": click.IntRange, "float": click.FloatRange}


def field_options(cls: type, *names: str, helps: Mapping[str, str] | None = None) -> Callable[[Any], Any]:
    """The options of the dataclass `cls`'s fields `names` (none: all its fields), each declared once, on its field
    (`option`): its flag (default `--field-name`), default (shown in --help), type, help, choices or range, metavar;
    a tuple field is repeatable, a bool one a flag when off by default, else `--flag/--no-flag`, or on|off (`onoff`).
    `helps`: a field's help text as one command words it. Read back into `cls` with `take`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    made: list[Callable[[Any], Any]] = []
    for name in names or fields:
        f = fields[name]
        spelling: Mapping[str, Any] = f.metadata
        annotation, spelt = _annotation(f.type).removesuffix(" | None"), flag_of(f)
        if helps and name in helps:
            spelling = {**spelling, "help": helps[name]}
        more = {key: spelling[key] for key in ("metavar", "envvar", "required") if key in spelling}
        if "parse" in spelling:
            made.append(opt(f"{spelt} {name}", None, spelling.get("as_typed"), spelling.get("help"), **more))
        elif annotation == "bool" and "onoff" in spelling:  # click.BOOL reads on, off, true, 1...
            made.append(opt(f"{spelt} {name}", click.BOOL, f.default, f"{spelling['help']}  [default: "
                            f"{'on' if f.default else 'off'}]", is_flag=False, flag_value=True, metavar="on|off",
                            show_default=None))
        elif annotation == "bool" and f.default is False:
            made.append(flag(f"{spelt} {name}", spelling.get("help"), **more))
        elif annotation == "bool":
            made.append(opt(f"{spelt}/--no-{spelt.removeprefix('--')} {name}", None, f.default, spelling.get("help")))
        elif annotation.startswith("tuple["):
            made.append(opt(f"{spelt} {name}", help=spelling.get("help"), multiple=True, **more))
        else:
            kind = (click.Choice(spelling["choices"]) if "choices" in spelling
                    else _RANGES[annotation](spelling.get("low"), spelling.get("high"), min_open="above" in spelling)
                    if "low" in spelling
                    else _FIELD_TYPES[annotation])
            made.append(opt(f"{spelt} {name}", kind, f.default, spelling.get("help"), **more))
    return stack(*made)


def _annotation(hint: Any) -> str:
    """A field's annotation as written: a string already under `from __future__ import annotations`."""
    return hint if isinstance(hint, str) else hint.__name__ if isinstance(hint, type) else str(hint)


def take(params: dict[str, Any], cls: Callable[..., D], **renamed: str) -> D:
    """The dataclass `cls` of a command's parameters (each option named as its field, or as `renamed` maps the
    field; one typed as text read by its field's `parse`), taking them out of `params`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {name: params.pop(renamed.get(name, name)) for name in fields if renamed.get(name, name) in params}
    return cls(**{name: fields[name].metadata["parse"](value)
                  if "parse" in fields[name].metadata and isinstance(value, str) else value
                  for name, value in values.items()})
