"""The errors oracle's table: code first, then message; internal failures are never expected."""

from __future__ import annotations

from test_rig.hunt.expected import classify


def test_semantic_errors_are_expected() -> None:
    assert classify("mariadb", 1690, "BIGINT value is out of range in '(`t0`.`c0` + 1)'").expected
    assert classify("tidb", 1690, "BIGINT UNSIGNED value is out of range").expected
    assert classify("tidb", 1105, "Data truncated for column 'c0'").expected


def test_tidb_runtime_panics_are_findings_even_as_1105() -> None:
    judged = classify("tidb", 1105, "runtime error: index out of range [3] with length 3")
    assert (judged.expected, judged.kind) == (False, "error")
    assert not classify("tidb", 1105, "invalid memory address or nil pointer dereference").expected
    assert not classify("mariadb", 1690, "index out of range").expected  # the message wins over the code
    assert not classify("tidb", 1105, "Can't find column test.t0.c1 in schema Column: [test.t1.c0]").expected


def test_unknown_codes_are_findings() -> None:
    judged = classify("mariadb", 1054, "Unknown column 'a0.c9' in 'where clause'")
    assert (judged.expected, judged.kind) == (False, "error")
    assert not classify("mariadb", 1105, "Unknown error").expected  # MariaDB: 1105 is never a semantic error


def test_lost_connection_is_a_crash() -> None:
    assert classify("mariadb", 2013, "Lost connection to server during query").kind == "crash"
    assert classify("tidb", 2006, "server has gone away").kind == "crash"


def test_a_go_interface_conversion_panic_is_an_internal_error_whatever_else_it_says() -> None:
    """TiDB v8.4.0's planner panics on a NULLIF over a UNION's column IN a COUNT subquery and sends the Go
    runtime's text as 1105 (tests/regressions/hunt/errors/); a panic text that goes on with words of an expected
    1105 ("cannot convert") is still the server failing."""
    seen = "interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column"
    judged = classify("tidb", 1105, seen)
    assert (judged.expected, judged.kind, judged.reason) == (False, "error", f"an internal error (1105: {seen})")
    worded = "interface conversion: interface {} is nil, not types.Datum: cannot convert"
    assert (classify("tidb", 1105, worded).expected, classify("tidb", 1105, worded).kind) == (False, "error")
    assert classify("tidb", 1105, "cannot convert datum from decimal to type year").expected  # still expected
