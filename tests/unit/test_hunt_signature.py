"""The signature groups one bug found in many shapes and tells two bugs apart: the thirteen real bugs kept in
tests/regressions/hunt/ sign thirteen ways; each of them with other constants, column types and names signs as
itself; the TiDB NOT IN bug as a real 10-minute run reduced it, with other correlated conditions, joins and
constants, signs as the kept file; an old reduced file given to --known is known by today's signature."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_rig.hunt.finding import Finding, read_known, repro_sql, resign, signature
from test_rig.hunt.skeleton import skeleton

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions" / "hunt"
FILES = sorted(REGRESSIONS.glob("*.sql"))
TIDB = {"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0-this-is-a-placeholder"}


def parts(text: str) -> tuple[str, dict[str, str], list[str], list[str]]:
    """(oracle, server, statements, queries) of a reduced .sql file."""
    m = re.match(r"-- test-rig hunt: wrong-result found by the (\S+) oracle on (\S+) (.*)", text)
    assert m is not None
    statements, queries = [], []
    in_queries = False
    for line in text.splitlines():
        if line.startswith("-- The results of these"):
            in_queries = True
        elif line and not line.startswith("--"):
            (queries if in_queries else statements).append(line.rstrip(";"))
    return m.group(1), {"kind": m.group(2), "version": m.group(3)}, statements, queries


def variant(sql: str) -> str:
    """The same case with other constants, column types, and table and alias numbers (a session switch is not
    a constant: it is the plan the bug needs)."""
    if sql.startswith("SET SESSION"):
        return sql
    if sql.startswith("SET STATEMENT"):
        prefix, _, rest = sql.partition(" FOR ")
        return f"{prefix} FOR {variant(rest)}"
    sql = re.sub(r"\b(TINYINT|SMALLINT|MEDIUMINT|INT)\b", "BIGINT", sql)
    sql = sql.replace("FLOAT", "DOUBLE").replace("CHAR(5)", "VARCHAR(20)").replace("DECIMAL(5,2)", "DECIMAL(12,4)")
    sql = re.sub(r"\b(?<![.\w])(\d+)\.(\d+)\b", lambda m: f"{int(m.group(1)) + 7}.{m.group(2)}9", sql)
    sql = re.sub(r"(?<![\w.])(\d+)(?![\w.])", lambda m: str(int(m.group(1)) * 3 + 1), sql)
    sql = re.sub(r"'([^']*)'", lambda m: "'" + m.group(1).upper() + "z'", sql)
    return re.sub(r"\b([as])(\d+)\b", lambda m: f"{m.group(1)}{int(m.group(2)) + 5}", sql)


def sign(statements: list[str], queries: list[str], oracle: str, server: dict[str, str]) -> str:
    return signature("wrong-result", oracle, server, statements, queries)[0]


def test_the_thirteen_real_bugs_sign_thirteen_ways() -> None:
    assert len(FILES) == 13
    signatures = {}
    for path in FILES:
        oracle, server, statements, queries = parts(path.read_text())
        signatures[path.name] = sign(statements, queries, oracle, server)
    assert len(set(signatures.values())) == 13, signatures
    assert signatures["tidb-null-aware-anti-join-duplicates-outer-row.sql"] == (
        "wrong-result|tlp-where|tidb-8.4|-|SELECT c FROM t ; "
        "( SELECT c FROM t WHERE ((?) NOT IN (SUBQUERY correlated)) ) UNION ALL "
        "( SELECT c FROM t WHERE (NOT ((?) NOT IN (SUBQUERY correlated))) ) UNION ALL "
        "( SELECT c FROM t WHERE (((?) NOT IN (SUBQUERY correlated)) IS NULL) )")
    # the session switch the reducer kept is part of the hashed-join-cache bug's signature
    assert "|SET SESSION join_cache_level = 8|" in signatures[
        "mariadb-hashed-join-cache-null-safe-equal-misses-null-keys.sql"]
    assert "SET STATEMENT optimizer_switch='not_null_range_scan=on' FOR" in signatures[
        "mariadb-not-null-range-scan-from-is-false-of-not-is-null.sql"]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_bug_with_other_constants_types_and_names_signs_as_itself(path: Path) -> None:
    oracle, server, statements, queries = parts(path.read_text())
    other_statements = [variant(s) for s in statements]
    other_queries = [variant(q) for q in queries]
    assert other_queries != queries and other_statements != statements and other_queries[0] != queries[0]
    assert sign(other_statements, other_queries, oracle, server) == sign(statements, queries, oracle, server)


def union(p: str, base: str) -> str:
    return " UNION ALL ".join(f"({base} WHERE {w})" for w in (f"({p})", f"(NOT ({p}))", f"(({p}) IS NULL)"))


# The TiDB NOT IN bug as one 10-minute run (seed 505) reduced it, in three of its 21 shapes: another correlated
# condition inside the subquery, a constant of another type, a join the reducer could not take away.
TIDB_SHAPES = [
    ("SELECT a0.c3 AS r1 FROM t1 AS a0", "(NULL) NOT IN (SELECT s23.c5 AS x FROM t1 AS s23 WHERE (a0.c0))"),
    ("SELECT a0.c4 AS r0 FROM t1 AS a0",
     "(DATE '1970-01-01') NOT IN (SELECT s84.c3 AS x FROM t0 AS s84 WHERE (LEFT((a0.c0), (1))))"),
    ("SELECT a1.c0 AS r0 FROM t0 AS a0 CROSS JOIN t1 AS a1",
     "(NULL) NOT IN (SELECT s431.c0 AS x FROM t0 AS s431 WHERE (NOT (a0.c0)))"),
    ("SELECT a1.c1 AS r1 FROM t1 AS a0 RIGHT JOIN t1 AS a1 ON (NULL)",
     "(TIME '12:34:56') NOT IN (SELECT s275.c4 AS x FROM t0 AS s275 WHERE (a0.c1))"),
    ("WITH cte0 AS (SELECT t0.c0 AS c0, t0.c1 AS c1, t0.c2 AS c2 FROM t0 WHERE ((t0.c2) = (t0.c1))) "
     "SELECT a0.c2 AS r0 FROM cte0 AS a0 CROSS JOIN t0 AS a1",
     "(NULL) NOT IN (SELECT s214.c4 AS x FROM t0 AS s214 WHERE ((NULL) BETWEEN (a1.c0) AND (a1.c1)))"),
]


@pytest.mark.parametrize(("base", "p"), TIDB_SHAPES)
def test_the_tidb_not_in_bug_in_the_shapes_a_run_reduced_it_to_signs_as_the_kept_file(base: str, p: str) -> None:
    kept = REGRESSIONS / "tidb-null-aware-anti-join-duplicates-outer-row.sql"
    oracle, server, statements, queries = parts(kept.read_text())
    if base.startswith("WITH"):
        cte, _, query = base.partition(") SELECT")
        queries_here = [f"{cte}) SELECT{query}", f"{cte}) " + union(p, "SELECT" + query)]
    else:
        queries_here = [base, union(p, base)]
    create = ["CREATE TABLE t1 (c0 TINYINT, c1 INT, c2 BOOL, c3 CHAR(5), c4 MEDIUMINT UNSIGNED, c5 SMALLINT NOT NULL)"]
    assert sign(create, queries_here, "tlp-where", TIDB) == sign(statements, queries, oracle, server)


def test_two_different_bugs_sign_two_ways() -> None:
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0"
    not_in = sign([], [base, union("(NULL) NOT IN (SELECT s1.c0 AS x FROM t0 AS s1 WHERE (a0.c1))", base)],
                  "tlp-where", TIDB)
    uncorrelated = sign([], [base, union("(NULL) NOT IN (SELECT s1.c0 AS x FROM t0 AS s1 WHERE (s1.c1))", base)],
                        "tlp-where", TIDB)
    in_list = sign([], [base, union("(NULL) NOT IN ((a0.c1), (3))", base)], "tlp-where", TIDB)
    distinct = sign([], ["SELECT DISTINCT (a0.c2) / ((a0.c2) | (3)) AS r1 FROM t0 AS a0",
                         "SELECT DISTINCT (a0.c2) / ((a0.c2) | (3)) AS r1 FROM t0 AS a0 WHERE (3)"],
                    "tlp-distinct", TIDB)
    is_true = sign([], [base, union("((a0.c1) IS TRUE)", base)], "tlp-where", TIDB)
    is_false = sign([], [base, union("((a0.c1) IS FALSE)", base)], "tlp-where", TIDB)
    assert len({not_in, uncorrelated, in_list, distinct, is_true, is_false}) == 6
    other_version = sign([], [base, union("(NULL) NOT IN (SELECT s1.c0 AS x FROM t0 AS s1 WHERE (a0.c1))", base)],
                         "tlp-where", {"kind": "tidb", "version": "8.0.11-TiDB-v9.0.0"})
    assert other_version != not_in


def test_the_skeleton_abstracts_constants_columns_names_and_filtering_sources() -> None:
    assert skeleton("SELECT COUNT(*) AS n FROM t1 AS a0 STRAIGHT_JOIN t0 AS a1 RIGHT JOIN t1 AS a2 "
                    "ON ((a2.c2) = (-2.25)) WHERE (a1.c0)") == "SELECT COUNT (*) FROM t JOIN ON ((c) = (?)) WHERE (c)"
    assert skeleton("SELECT CAST((a0.c1) AS DECIMAL(20,4)) AS r FROM (SELECT t0.c0 AS c0, t0.c1 AS c1 FROM t0 "
                    "WHERE ((t0.c0) LIKE ('_'))) AS a0") == "SELECT CAST ((c) AS DECIMAL) FROM t"
    assert skeleton("SELECT /*+ HASH_JOIN(a0, a1) USE_INDEX(a0, i1) */ a0.c0 AS r0 FROM t0 AS a0 "
                    "IGNORE INDEX (i1, i2)") == "SELECT /*+ HASH_JOIN USE_INDEX */ c FROM t IGNORE INDEX"


def test_an_old_reduced_file_given_to_known_is_known_by_todays_signature(tmp_path: Path) -> None:
    kept = REGRESSIONS / "tidb-null-aware-anti-join-duplicates-outer-row.sql"
    text = kept.read_text()
    assert "-- signature: wrong-result|tlp-where|tidb-8.4|IN+IS+NOT+UNION|" in text  # written by the old code
    oracle, server, statements, queries = parts(text)
    today = signature("wrong-result", oracle, server, statements, queries)
    assert resign(text) == today
    known = read_known(kept)
    assert today[0] in known and today[1] in known and "h0e0e538f92" in known  # the old id still counts
    listing = tmp_path / "known.txt"
    listing.write_text(f"{kept}\n")
    # a find of the same bug in another shape today is known through the old file
    base, p = TIDB_SHAPES[1]
    assert sign([], [base, union(p, base)], "tlp-where", TIDB) in read_known(listing)
    # and a file written today reads back to its own signature
    f = Finding("wrong-result", oracle, server, 505, 0, "x", queries, ["a", "b"], [[], []], statements,
                signature=today[0], signature_id=today[1])
    assert resign(repro_sql(f)) == today


def test_a_group_counts_its_finds_and_their_distinct_shapes() -> None:
    f = Finding("wrong-result", "tlp-where", TIDB, 1, 0, "x", ["SELECT 1"], statements=["CREATE TABLE t0 (c0 INT)"])
    f.add(["CREATE TABLE t0 (c0 INT)"], ["SELECT 1"])
    f.add(["CREATE TABLE t0 (c0 BIGINT)"], ["SELECT 1"])
    assert (f.count, f.to_dict()["shapes"]) == (3, 2)


def test_the_report_shows_a_group_once_with_its_count_and_shapes() -> None:
    from test_rig.hunt.html import section
    from test_rig.hunt.report import render

    f = Finding("wrong-result", "tlp-where", TIDB, 1, 0, "differ", ["SELECT 1"], ["q"], [[]],
                statements=["CREATE TABLE t0 (c0 INT)"], signature="sig", signature_id="h1")
    f.add(["CREATE TABLE t0 (c0 BIGINT)"], ["SELECT 1"])
    f.add(["CREATE TABLE t0 (c0 BIGINT)"], ["SELECT 1"])
    finding = f.to_dict()
    assert "<h3>NEW wrong-result (tlp-where), seen 3\ntimes in 2 shapes, id h1</h3>" in section({"findings": [finding]})

    class Console:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def print(self, text: str, **_: object) -> None:
            self.lines.append(text)

    data = {"checked_total": 5, "seconds": 1.0, "checked_per_second": 5.0, "checked": {"tlp-where": 5},
            "candidates": 3, "confirmed": 3, "flaky": 0, "skipped": {}, "rounds": 1, "findings": [finding],
            "new_bugs": 1, "ok": False, "complete": True, "failed": 1}
    console = Console()
    render(console, data)
    assert "[red]NEW[/] wrong-result (tlp-where, seen 3x in 2 shapes, id h1): differ" in console.lines
