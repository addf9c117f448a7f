"""Findings: the signature groups one bug found many times, the .sql file is self-contained with both results,
--known reads signatures, ids and reduced files."""

from __future__ import annotations

from pathlib import Path

from test_rig.hunt.finding import Finding, read_known, repro_sql, signature

SERVER = {"kind": "mariadb", "version": "10.11.19-MariaDB-0+deb12u1"}
CREATE = ["CREATE TABLE t0 (c0 INT, c1 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin, c2 DOUBLE)"]


def test_signature_abstracts_literals_and_columns_and_keeps_types_operators_and_version() -> None:
    """On MariaDB a comparison's operands sign by their type (skeleton.cause): an integer column against an
    integer and a string column against a string are two cases."""
    a = signature("wrong-result", "norec", SERVER, CREATE, ["SELECT COUNT(*) FROM t0 AS a0 WHERE ((a0.c0) > (1))"])
    b = signature("wrong-result", "norec", SERVER, CREATE, ["SELECT COUNT(*) FROM t0 AS a0 WHERE ((a0.c0) > (7))"])
    c = signature("wrong-result", "norec", SERVER, CREATE, ["SELECT COUNT(*) FROM t0 AS a0 WHERE ((a0.c1) > ('x'))"])
    d = signature("wrong-result", "norec", {"kind": "mariadb", "version": "11.4.2-MariaDB"}, CREATE,
                  ["SELECT COUNT(*) FROM t0 AS a0 WHERE ((a0.c0) > (1))"])
    e = signature("wrong-result", "norec", SERVER, CREATE, ["SELECT COUNT(*) FROM t0 AS a0 WHERE ((a0.c0) >= (1))"])
    assert a == b and a != c and a != d and a != e
    assert a[0] == "wrong-result|mariadb-10.11|-|FROM t WHERE ?int < c:int"
    assert a[1].startswith("h") and len(a[1]) == 11


def test_an_error_is_signed_by_its_code_and_message_shape() -> None:
    a = signature("error", "plans", SERVER, [], ["SELECT 1"], 1105, "runtime error: index out of range [3]")
    b = signature("error", "tlp-where", SERVER, [], ["SELECT 2"], 1105, "runtime error: index out of range [7]")
    assert a == b


def test_repro_has_statements_queries_and_both_results(tmp_path: Path) -> None:
    f = Finding("wrong-result", "norec", SERVER, 3, 0, "COUNT(*) WHERE p and SUM(p IS TRUE) differ",
                ["SELECT COUNT(*) AS n FROM t0", "SELECT 2 AS n"], ["COUNT(*) WHERE p", "SUM(p IS TRUE)"],
                [[[1]], [[2]]], [*CREATE, "INSERT INTO t0 (c0) VALUES (1)"], signature="sig|x", signature_id="h1")
    text = repro_sql(f)
    assert "-- signature: sig|x\n-- id: h1\n" in text
    assert "mariadb --comments -h HOST" in text and "\n\nSET NAMES utf8mb4;\nCREATE TABLE" in text
    assert "INSERT INTO t0 (c0) VALUES (1);\n" in text
    assert "-- COUNT(*) WHERE p returned 1 rows: (1)\nSELECT COUNT(*) AS n FROM t0;\n" in text
    assert "-- SUM(p IS TRUE) returned 1 rows: (2)\nSELECT 2 AS n;\n" in text
    (tmp_path / "a.sql").write_text(text)
    listing = tmp_path / "known.txt"
    listing.write_text("# reported\nsig|other\na.sql\n")
    today = signature("wrong-result", "norec", SERVER, f.statements, f.queries)  # the file re-signed
    assert today[0] == "wrong-result|mariadb-10.11|-|FROM t"
    assert read_known(listing) == {"sig|other", "sig|x", "h1", *today}
    assert read_known(tmp_path / "a.sql") == {"sig|x", "h1", *today}


def test_a_known_list_naming_a_missing_file_says_which_entry(tmp_path: Path) -> None:
    import pytest

    from test_rig.errors import UsageError
    from test_rig.hunt.main import read_known_option

    listing = tmp_path / "known.txt"
    listing.write_text("tests/regressions/hunt/x.sql\n")
    with pytest.raises(UsageError) as e:
        read_known_option(str(listing))
    assert str(e.value) == (f"--known {listing} names {tmp_path / 'tests/regressions/hunt/x.sql'}, which cannot be "
                            "read (No such file or directory); a relative path in it is read from the list's own "
                            "directory.")
    with pytest.raises(UsageError) as e:
        read_known_option(str(tmp_path / "none.txt"))
    assert str(e.value).startswith(f"--known {tmp_path / 'none.txt'} cannot be read (No such file or directory)")


def test_a_known_directory_takes_every_reduced_file_under_it(tmp_path: Path) -> None:
    """--known tests/regressions/hunt: each kept wrong result and each kept server error (errors/) is known."""
    import pytest

    from test_rig.errors import UsageError
    from test_rig.hunt.main import read_known_option

    regressions = Path(__file__).resolve().parents[1] / "regressions" / "hunt"
    files = sorted(regressions.rglob("*.sql"))
    assert any(p.parent.name == "errors" for p in files)
    expected: set[str] = set()
    for p in files:
        expected |= read_known(p)
    assert read_known(regressions) == expected and read_known_option(str(regressions)) == frozenset(expected)
    assert "h57a07ba1c1" in expected  # the TiDB planner panic's id, from errors/
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError) as e:
        read_known_option(str(tmp_path / "empty"))
    assert str(e.value) == (f"--known {tmp_path / 'empty'} is a directory with no .sql file in it; give a directory "
                            "of reduced .sql files, one such file, or a file of signatures.")
