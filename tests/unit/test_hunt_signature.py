"""The signature groups one bug found in many shapes and by several oracles, and tells two bugs apart: the
fourteen real bugs kept in tests/regressions/hunt/ sign thirteen ways (two are one cause); the plans oracle's
variants do not make a cause of their own; each of them with
other constants, column types and names signs as itself; the TiDB NOT IN bug as a real 10-minute run reduced
it, with other correlated conditions, joins and constants, signs as the kept file; one case's bug found by TLP
WHERE, NoREC, TLP DISTINCT and TLP over an aggregate signs once, two bugs of one case's shape twice; an old
reduced file given to --known is known by today's signature."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_rig.hunt import ast as A
from test_rig.hunt.dialect import MARIADB
from test_rig.hunt.finding import Finding, read_known, repro_sql, resign, signature
from test_rig.hunt.oracles import ORACLES
from test_rig.hunt.skeleton import skeleton

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions" / "hunt"
FILES = sorted(REGRESSIONS.glob("*.sql"))
TIDB = {"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0-this-is-a-placeholder"}


def parts(text: str) -> tuple[str, dict[str, str], list[str], list[str]]:
    """(oracle, server, statements, queries) of a reduced .sql file."""
    m = re.match(r"-- test-rig hunt: wrong-result found by the (\S+) oracle on (\S+) (.*)", text)
    assert m is not None
    statements: list[str] = []
    queries: list[str] = []
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


def test_the_fourteen_kept_files_sign_thirteen_ways_the_two_of_one_cause_alike() -> None:
    """Two files are one cause, a decimal constant stored into an integer key for ref access, on a composite key's
    prefix (`c = 2.25`) and on a one-column unsigned key (`0.1 = c`): the side the constant stands on is
    incidental, so they sign alike."""
    assert len(FILES) == 14
    signatures = {}
    for path in FILES:
        oracle, server, statements, queries = parts(path.read_text())
        signatures[path.name] = sign(statements, queries, oracle, server)
    assert len(set(signatures.values())) == 13, signatures
    # a fraction against an integer column that leads an index, in a WHERE or in an outer join's ON alike
    assert (signatures["mariadb-composite-key-prefix-ref-with-decimal-constant.sql"]
            == signatures["mariadb-unsigned-primary-key-ref-with-decimal-constant-in-right-join.sql"]
            == "wrong-result|mariadb-10.11|-|FROM t WHERE ?frac = c:int:key")
    # TiDB's causes are signed without types (skeleton.TYPED)
    assert signatures["tidb-null-aware-anti-join-duplicates-outer-row.sql"] == (
        "wrong-result|tidb-8.4|-|FROM t WHERE IN (SUBQUERY correlated)")
    # a select item that computes something is part of the case (the IFNULL type bug is in it)
    assert signatures["mariadb-ifnull-int-decimal-type-too-narrow-in-union.sql"] == (
        "wrong-result|mariadb-10.11|-|FROM t WHERE (?null) ITEMS IFNULL ((ABS ((?int))) , (?decimal))")
    # the session switch the reducer kept is part of the hashed-join-cache bug's signature
    assert "|SET SESSION join_cache_level = 8|" in signatures[
        "mariadb-hashed-join-cache-null-safe-equal-misses-null-keys.sql"]
    # the plans oracle's variants are not (see test_a_plans_finding_signs_by_its_case_not_by_the_variants_tried)
    assert signatures["mariadb-not-null-range-scan-from-is-false-of-not-is-null.sql"] == (
        "wrong-result|mariadb-10.11|-|FROM t WHERE ((c:int:key) IS NULL) IS FALSE")


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


def oracle_queries(case: A.Case_) -> dict[str, list[str]]:
    """What each oracle that reads the base and the predicate derives from `case` (as the runner sends them)."""
    out = {}
    for name in ("tlp-where", "tlp-distinct", "norec", "tlp-aggregate"):
        check = ORACLES[name].derive(case, MARIADB, 0)
        assert check is not None
        out[name] = list(check.queries)
    return out


def composite_key_case(constant: str) -> A.Case_:
    """The kept composite-key-prefix bug's case (a RIGHT JOIN whose ON compares a key column with a decimal
    constant, WHERE on an outer column), with the constant given."""
    i, b = A.T("int"), A.T("bool")
    base = A.Select((A.Item(A.Col("a1", "c0", i), "r0"),), A.TableRef("t1", "a0"),
                    (A.Join("STRAIGHT_JOIN", A.TableRef("t0", "a1"), None),
                     A.Join("RIGHT JOIN", A.TableRef("t1", "a2"),
                            A.Op("binary", "=", (A.Col("a2", "c2", i), A.Const(constant, A.T("decimal"))), b))))
    predicate = A.Col("a1", "c0", i)
    return A.Case_(base, predicate, A.evolve(base, where=predicate), A.Agg("MAX", A.Col("a1", "c0", i), i))


def test_one_bug_found_by_four_oracles_groups_once_and_the_group_lists_them() -> None:
    """TLP WHERE, TLP DISTINCT, NoREC and TLP over MAX, each with its own queries, one cause: one signature (the
    oracle is not part of it, as it was when ~130 MariaDB findings of one run were nine causes), and the
    finding that groups them counts each oracle's finds."""
    server = {"kind": "mariadb", "version": "10.11.19-MariaDB-0+deb12u1"}
    create = ["CREATE TABLE t0 (c0 TEXT)",
              "CREATE TABLE t1 (c0 VARCHAR(10) NOT NULL, c2 BOOL NOT NULL, PRIMARY KEY (c2, c0))"]
    by_oracle = oracle_queries(composite_key_case("-2.25"))
    assert len({q[1] for q in by_oracle.values()}) == 4  # four oracles' own queries
    signatures = {name: signature("wrong-result", name, server, create, queries)
                  for name, queries in by_oracle.items()}
    assert len(set(signatures.values())) == 1, signatures
    assert signatures["norec"][0] == "wrong-result|mariadb-10.11|-|FROM t WHERE ?frac = c:int:key"
    # as the kept file, reduced by NoREC in an earlier run, signs
    kept = REGRESSIONS / "mariadb-composite-key-prefix-ref-with-decimal-constant.sql"
    oracle, kept_server, statements, queries = parts(kept.read_text())
    assert sign(statements, queries, oracle, kept_server) == signatures["tlp-where"][0]
    # grouped as the runner groups them (by signature id): one finding, with each oracle's count
    finding = Finding("wrong-result", "tlp-where", server, 1, 0, "x", by_oracle["tlp-where"], ["a", "b"], [[], []],
                      create, signature=signatures["tlp-where"][0], signature_id=signatures["tlp-where"][1])
    groups = {finding.signature_id: finding}
    for name in ("norec", "tlp-distinct", "norec", "tlp-aggregate"):
        groups[signatures[name][1]].add(create, by_oracle[name], name)
    assert list(groups) == [signatures["norec"][1]]
    assert finding.count == 5
    assert finding.to_dict()["oracles"] == {"tlp-where": 1, "norec": 2, "tlp-distinct": 1, "tlp-aggregate": 1}


def test_two_bugs_of_one_shape_found_by_two_oracles_sign_two_ways() -> None:
    """The same query shapes with another operator in the ON condition (`<=>`, the hashed join cache bug's) or
    a computed select item: other causes, whichever oracle found each."""
    server = {"kind": "mariadb", "version": "10.11.19-MariaDB-0+deb12u1"}
    first = oracle_queries(composite_key_case("-2.25"))
    case = composite_key_case("-2.25")
    join = case.base.joins[1]
    assert join.on is not None and isinstance(join.on, A.Op)
    null_safe = A.evolve(case, base=A.evolve(case.base, joins=(case.base.joins[0],
                                                               A.evolve(join, on=A.evolve(join.on, op="<=>")))))
    second = oracle_queries(null_safe)
    computed = A.evolve(case, base=A.evolve(case.base, items=(
        A.Item(A.Op("func", "ABS", (A.Col("a1", "c0", A.T("int")),), A.T("int")), "r0"),)))
    third = oracle_queries(computed)
    a = signature("wrong-result", "tlp-where", server, [], first["tlp-where"])
    b = signature("wrong-result", "norec", server, [], second["norec"])
    c = signature("wrong-result", "tlp-where", server, [], third["tlp-where"])
    d = signature("wrong-result", "norec", server, [], first["norec"])
    assert len({a, b, c}) == 3 and a == d


def test_a_plans_finding_signs_by_its_case_not_by_the_variants_tried() -> None:
    """The plans oracle tries two of the variants that apply to a query, chosen by turn (oracles.Plans), so which
    ones a finding holds is the turn's: TiDB's null-aware anti join bug came as tidb-default/002 under
    SET_VAR(tidb_enable_null_aware_anti_join=OFF) and (tidb_opt_prefer_range_scan=ON), as 003 under the first
    and (tidb_opt_insubq_to_join_and_agg=OFF), and as TLP WHERE findings: one cause. So the query under one
    optimizer variable, another, or HASH_JOIN, and the query as TLP WHERE saw it, sign alike; another query does
    not."""
    query = "SELECT a0.c0 AS r0 FROM t0 AS a0 JOIN t1 AS a1 ON ((a0.c1) = (a1.c1)) WHERE ((a0.c2) > ({}))"

    def plans(hint: str, constant: str = "3", q: str = query) -> str:
        q = q.format(constant)
        return signature("wrong-result", "plans", TIDB, [], [q, q.replace("SELECT ", f"SELECT /*+ {hint} */ ", 1)])[0]

    one, other = plans("SET_VAR(tidb_opt_x=OFF)"), plans("SET_VAR(tidb_opt_y=OFF)")
    join = plans("HASH_JOIN(a0, a1)")
    assert one == other == join == plans("SET_VAR(tidb_opt_x=OFF)", "-7.5")
    assert one == "wrong-result|tidb-8.4|-|FROM t WHERE ? < c ; c = c"
    base = query.format(3).split(" WHERE ")[0]
    assert sign([], [base, union("(a0.c2) > (3)", base)], "tlp-where", TIDB) == one
    assert plans("HASH_JOIN(a0, a1)", q=query.replace(">", "LIKE")) != one


def test_a_comparison_signs_alike_whichever_side_its_constant_is_on() -> None:
    """`? = c` is `c = ?` and `? < c` is `c > ?` (a 10-minute run signed one bug both ways); `c < ?` and `c > ?`
    stay apart, as do two columns compared by `<` and by `=`. (Two columns compared by `<` and by `<=` now sign
    alike: `c0 <= c1` is NOT `c1 < c0`, and which of two columns of one type stands first is the generator's
    choice; see test_hunt_cause.py.)"""
    server = {"kind": "mariadb", "version": "10.11.19-MariaDB"}

    def where(condition: str) -> str:
        return sign([], [f"SELECT a0.c0 FROM t0 AS a0 WHERE {condition}"], "norec", server)

    assert where("((1) = (a0.c0))") == where("((a0.c0) = (1))")
    assert where("((1) < (a0.c0))") == where("((a0.c0) > (1))") == ("wrong-result|mariadb-10.11|-|FROM t WHERE "
                                                                     "?int < c:any")
    assert where("((1) <=> (a0.c0))") == where("((a0.c0) <=> (1))")
    assert where("((a0.c0) < (1))") != where("((a0.c0) > (1))")
    assert where("((a0.c0) < (a0.c1))") != where("((a0.c0) = (a0.c1))")
