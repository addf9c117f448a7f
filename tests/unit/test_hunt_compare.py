"""The hunt's result comparison: whole rows as multisets, one test per type rule (hunt/compare.py)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from test_rig.hunt.compare import compare, jsonable, normalise


def test_integers_and_decimals_are_exact() -> None:
    assert compare([(1,), (Decimal("2.50"),)], [(Decimal("1.000"),), (Decimal("2.5"),)]) is None
    diff = compare([(Decimal("0.1"),)], [(Decimal("0.1000000001"),)])
    assert diff is not None and diff.only_left == ((Decimal("0.1"),),)
    assert compare([(9223372036854775807,)], [(9223372036854775806,)]) is not None


def test_floats_within_the_documented_tolerance() -> None:
    assert compare([(0.1,)], [(0.10000000149011612,)]) is None  # FLOAT shown rounded against its DOUBLE value
    assert compare([(1e10,)], [(1e10 + 1,)]) is None  # 1e-10 relative
    assert compare([(1.5,)], [(1.5001,)]) is not None
    assert compare([(-0.0,)], [(0.0,)]) is None
    assert normalise(-0.0) == 0.0


def test_multisets_count_duplicates_and_ignore_order() -> None:
    assert compare([(1, "a"), (2, "b")], [(2, "b"), (1, "a")]) is None
    diff = compare([(1,), (1,)], [(1,)])
    assert diff is not None and diff.only_left == ((1,),) and (diff.left_count, diff.right_count) == (2, 1)


def test_whole_rows_not_first_column() -> None:
    assert compare([(1, "a")], [(1, "b")]) is not None


def test_strings_exact_unless_folded() -> None:
    assert compare([("a",)], [("A",)]) is not None
    assert compare([("a ",)], [("a",)]) is not None
    assert compare([("a",)], [("A",)], fold=True) is None
    assert compare([("a ",)], [("A",)], fold=True) is None
    assert compare([("a",)], [("b",)], fold=True) is not None


def test_strings_are_never_numbers() -> None:
    assert compare([("1",)], [(1,)]) is not None
    assert compare([("00000000001",)], [("1",)]) is not None


def test_null_is_a_value() -> None:
    assert compare([(None,)], [(None,)]) is None
    assert compare([(None,)], [(0,)]) is not None


def test_bytes_decoded_and_dates_by_value() -> None:
    assert compare([(b"ab",)], [("ab",)]) is None
    assert compare([(datetime.date(2024, 2, 29),)], [(datetime.date(2024, 2, 29),)]) is None
    assert compare([(datetime.timedelta(hours=-1),)], [(datetime.timedelta(hours=1),)]) is not None


def test_bool_is_an_integer() -> None:
    assert compare([(True,)], [(1,)]) is None


def test_report_values_read_as_the_server_writes_them() -> None:
    assert jsonable([(datetime.timedelta(hours=-1, minutes=-2, seconds=-3), Decimal("1.50"), None, b"a")]) == \
        [["-01:02:03", "1.50", None, "a"]]
    assert jsonable([(datetime.timedelta(hours=838, minutes=59, seconds=59),)]) == [["838:59:59"]]
