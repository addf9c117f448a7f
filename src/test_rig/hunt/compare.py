"""Comparing two results as the oracles need: whole rows, as multisets, with typed normalisation.

Rules, one per type (each has a test in tests/unit/test_hunt_compare.py):
- integers and DECIMAL are exact: 1, 1.0 and 1.000 (int or Decimal) are the same number; 0.1 and 0.10 too.
- floating point (FLOAT, DOUBLE, and anything the driver returns as a float): two values are equal when they
  differ by at most 1e-6 times the larger magnitude, or by 1e-6 when both are below 1 (FLOAT keeps about 7
  significant digits and is shown rounded, and a SUM of doubles depends on the order of addition); -0.0 is 0.0.
- strings: exact, unless the oracle compares values a server is free to choose among equals (DISTINCT, GROUP
  BY, UNION, MIN/MAX), where they are folded as the collation might: case (the generator's data is ASCII, so
  case is the only folding a collation does) and trailing spaces (PAD SPACE). Folding only makes more values
  equal, so it can hide a bug but never invent one.
- bytes are decoded as UTF-8 (a BINARY result of a string function); dates, datetimes and times by value.
- NULL equals NULL (a row is a value, not a predicate).
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

FLOAT_TOLERANCE = 1e-6

Row = tuple[Any, ...]


def normalise(value: Any, *, fold: bool = False) -> Any:
    """A value's comparable form (see the module's rules); floats stay floats (compared with tolerance)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return value.normalize()
    if isinstance(value, float):
        return 0.0 if value == 0 else value
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value.rstrip(" ").lower() if fold else value
    if isinstance(value, datetime.datetime | datetime.date | datetime.timedelta | datetime.time):
        return value
    return str(value)


def _row_key(row: Row, fold: bool) -> tuple[Any, ...]:
    return tuple(normalise(v, fold=fold) for v in row)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float | Decimal) or not isinstance(b, int | float | Decimal):
            return False
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return abs(fa - fb) <= FLOAT_TOLERANCE * max(1.0, abs(fa), abs(fb))
    return bool(a == b)


def _rows_close(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Difference:
    """How two results differ: the rows only one side has (normalised), counted."""

    only_left: tuple[Row, ...]
    only_right: tuple[Row, ...]
    left_count: int
    right_count: int

    def describe(self) -> str:
        parts = [f"{self.left_count} rows against {self.right_count}"]
        if self.only_left:
            parts.append(f"only in the first: {_show(self.only_left)}")
        if self.only_right:
            parts.append(f"only in the second: {_show(self.only_right)}")
        return "; ".join(parts)


def _show(rows: Sequence[Row], limit: int = 5) -> str:
    text = ", ".join(repr(tuple(_plain(v) for v in r)) for r in rows[:limit])
    return text + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _plain(v: Any) -> Any:
    return str(v) if isinstance(v, Decimal | datetime.date | datetime.timedelta | datetime.time) else v


def compare(left: Iterable[Row], right: Iterable[Row], *, fold: bool = False) -> Difference | None:
    """None when the two results hold the same rows the same number of times (under the rules above), else
    the Difference. Exact keys are matched first; what is left is matched with the float tolerance."""
    left, right = list(left), list(right)
    # The common case first: the same raw values the same number of times are the same under every rule
    # below (each normalises equal values alike), so most checks never normalise a value.
    if len(left) == len(right) and Counter(map(tuple, left)) == Counter(map(tuple, right)):
        return None
    lk = Counter(_row_key(r, fold) for r in left)
    rk = Counter(_row_key(r, fold) for r in right)
    if lk == rk:
        return None
    only_l = lk - rk
    only_r = rk - lk
    rest_l = [k for k, n in only_l.items() for _ in range(n)]
    rest_r = [k for k, n in only_r.items() for _ in range(n)]
    unmatched_r = list(rest_r)
    unmatched_l = []
    for row in rest_l:
        for i, other in enumerate(unmatched_r):
            if _rows_close(row, other):
                del unmatched_r[i]
                break
        else:
            unmatched_l.append(row)
    if not unmatched_l and not unmatched_r:
        return None
    return Difference(tuple(unmatched_l), tuple(unmatched_r), sum(lk.values()), sum(rk.values()))


def jsonable(rows: Iterable[Row]) -> list[list[Any]]:
    """Rows as JSON values: exact numbers and dates as text (a TIME as the server writes it), so a report
    loses nothing."""
    out = []
    for row in rows:
        out.append([v if v is None or isinstance(v, bool | int | float | str) else
                    bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | bytearray) else
                    _time_text(v) if isinstance(v, datetime.timedelta) else str(v) for v in row])
    return out


def _time_text(value: datetime.timedelta) -> str:
    """A TIME value as MySQL writes it: -01:02:03, 838:59:59 (not Python's "-1 day, 22:57:57")."""
    micro = abs(value) // datetime.timedelta(microseconds=1)
    seconds, micro = divmod(micro, 1_000_000)
    text = f"{'-' if value < datetime.timedelta(0) else ''}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:" \
           f"{seconds % 60:02d}"
    return text + (f".{micro:06d}" if micro else "")
