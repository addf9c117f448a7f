"""The cause a signature names (hunt/skeleton.py `cause`), on small cases modelled on the reduced files of four
10-minute runs (every finding replayed and put to its cause by hand; the file numbers and family names, K-ckp
and so on, are that reading's): finds of one cause sign alike however the generator computed
the constant, whether the condition was a WHERE, a HAVING or an ON, negated or not, and whichever oracle saw
it; two causes that signed alike before (an IN subquery over a numeric column, and one over a prefix-indexed
string column) and causes of one shape with other types or index roles sign apart."""

from __future__ import annotations

from pathlib import Path

from test_rig.hunt.finding import read_known, signature
from test_rig.hunt.skeleton import Column, schema

MARIADB = {"kind": "mariadb", "version": "10.11.19-MariaDB-0+deb12u1"}
TIDB = {"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0"}
KEPT = Path(__file__).resolve().parents[1] / "regressions" / "hunt"


def union(p: str, base: str, clause: str = "WHERE") -> str:
    """TLP's union of partitions of `base` by `p`, as the oracle writes it."""
    return " UNION ALL ".join(f"({base} {clause} {w})" for w in (f"({p})", f"(NOT ({p}))", f"(({p}) IS NULL)"))


def tlp(create: list[str], base: str, p: str, clause: str = "WHERE", server: dict[str, str] = MARIADB) -> str:
    oracle = "tlp-having" if clause == "HAVING" else "tlp-where"
    return signature("wrong-result", oracle, server, create, [base, union(p, base, clause)])[0]


def norec(create: list[str], from_: str, p: str, server: dict[str, str] = MARIADB) -> str:
    return signature("wrong-result", "norec", server, create, [f"SELECT COUNT(*) AS n FROM {from_} WHERE {p}"])[0]


def plans(create: list[str], query: str, switch: str) -> str:
    return signature("wrong-result", "plans", MARIADB, create,
                     [query, f"SET STATEMENT optimizer_switch='{switch}' FOR {query}"])[0]


# K-ckp: a fractional constant stored into an integer key for ref access (mariadb-default/003, 006, 008, 020,
# 021, 023, mariadb-utf8mb4/007, 009, 010 and the two kept files)
KEY_TABLES = ["CREATE TABLE t0 (c0 MEDIUMINT NOT NULL, c1 SMALLINT UNSIGNED, c2 BOOL NOT NULL, "
              "PRIMARY KEY (c0, c2), INDEX i1 (c1)) STATS_AUTO_RECALC=0",
              "CREATE TABLE t1 (c1 BIGINT NOT NULL PRIMARY KEY)"]


def test_a_fraction_against_an_integer_key_signs_once_wherever_and_however_it_is_written() -> None:
    base = "SELECT a0.c2 AS r0 FROM t0 AS a0"
    group = "SELECT a0.c0 AS g0 FROM t0 AS a0 GROUP BY a0.c0"
    found = {
        "WHERE IN of one (003)": tlp(KEY_TABLES, base, "(a0.c0) IN ((-1e-5))"),
        "HAVING 0.5 = c (006)": tlp(KEY_TABLES, group, "(0.5) = (a0.c0)", "HAVING"),
        "HAVING c <> 1.5 (008)": tlp(KEY_TABLES, group, "(a0.c0) <> (1.5)", "HAVING"),
        "unsigned key, WHERE <> (021)": tlp(KEY_TABLES, base, "(a0.c1) <> (3.14159)"),
        "ON of a RIGHT JOIN on a one-column key (020)":
            tlp(KEY_TABLES, "SELECT a0.c1 AS r0 FROM t1 AS a0 RIGHT JOIN t1 AS a1 ON ((0.1) = (a0.c1))", "a1.c1"),
        "NoREC (010)": norec(KEY_TABLES, "t0 AS a0", "((a0.c0) IN (3.14159))"),
        "plans, derived_merge (023)": plans(KEY_TABLES, "SELECT a0.c0 AS r0 FROM t1 AS a1 LEFT JOIN "
                                            "(SELECT t0.c0 AS c0, t0.c2 AS c2 FROM t0) AS a0 ON ((0.5) = (a0.c0))",
                                            "derived_merge=off"),
    }
    assert set(found.values()) == {"wrong-result|mariadb-10.11|-|FROM t WHERE ?frac = c:int:key"}, found


def test_a_fraction_against_a_column_no_index_starts_with_or_a_float_key_is_another_case() -> None:
    create = ["CREATE TABLE t0 (c0 INT, c1 INT, c2 DOUBLE, INDEX i1 (c1, c0), INDEX i2 (c2))"]
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0"
    key = tlp(create, base, "(a0.c1) = (1.5)")
    assert key.endswith("?frac = c:int:key")
    assert tlp(create, base, "(a0.c0) = (1.5)").endswith("?frac = c:int")  # second in its index: no lookup
    assert tlp(create, base, "(a0.c2) = (1.5)").endswith("?frac = c:real:key")
    assert tlp(create, base, "(a0.c1) = (2)").endswith("?int = c:int:key")
    assert tlp(create, base, "(a0.c1) > (1.5)") != key  # a range, not a lookup of one value


# K-flt and K-pfx: a value looked up in an IN subquery's numeric column, or in a prefix-indexed string column
SUBQUERY_TABLES = ["CREATE TABLE t0 (c0 BOOL NOT NULL, c1 VARCHAR(10) NOT NULL, c3 CHAR(5), PRIMARY KEY (c1), "
                   "INDEX i1 (c0, c3), INDEX i2 (c3(1)))",
                   "CREATE TABLE t2 (c0 DATE, c1 BIGINT, c2 TINYINT, c3 SMALLINT UNSIGNED, c4 TEXT, "
                   "c5 DECIMAL(5,2), c6 FLOAT, c7 VARCHAR(10), INDEX i3 (c2, c0, c1), INDEX i4 (c4(2), c1), "
                   "INDEX i5 (c6), INDEX i6 (c7))"]


def in_subquery(left: str, column: str, negated: bool = False) -> str:
    return f"({left}) {'NOT IN' if negated else 'IN'} (SELECT s1.{column} AS x FROM t2 AS s1)"


def test_an_out_of_range_number_in_a_numeric_subquery_column_signs_once_however_computed() -> None:
    """mariadb-default/004 (DATEDIFF, indexed TINYINT), 013 (YEAR), 015 (-4 against an unsigned column, plans
    with materialization), 024 (`~'10'` NOT IN, plans), mariadb-utf8mb4/021 (a column's `^ 5`, no index),
    mariadb-default/014 (a DECIMAL(5,2) column), the kept file (an indexed FLOAT column)."""
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0"
    found = {
        "DATEDIFF": tlp(SUBQUERY_TABLES, base, in_subquery("DATEDIFF((DATE '9999-12-31'), (DATE '1000-01-01'))",
                                                           "c2")),
        "YEAR": tlp(SUBQUERY_TABLES, base, in_subquery("YEAR((DATE '1970-01-01'))", "c2")),
        "NoREC, a literal": norec(SUBQUERY_TABLES, "t0 AS a0", f"({in_subquery('-7583.83', 'c2')})"),
        "unsigned column, plans": plans(SUBQUERY_TABLES, f"SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE "
                                        f"({in_subquery('-4', 'c3', True)})", "materialization=off"),
        "~, NOT IN, plans": plans(SUBQUERY_TABLES, f"SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE "
                                  f"({in_subquery(chr(126) + chr(40) + repr('10') + chr(41), 'c2', True)})",
                                  "in_to_exists=off"),
        "a column's ^": tlp(SUBQUERY_TABLES, base, in_subquery("(a0.c0) ^ (5)", "c2", True)),
        "DECIMAL(5,2)": plans(SUBQUERY_TABLES, f"SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE "
                              f"({in_subquery('-7541.63', 'c5', True)})", "materialization=off"),
        "FLOAT, indexed": tlp(SUBQUERY_TABLES, base, in_subquery("-1e-5", "c6")),
    }
    assert set(found.values()) == {"wrong-result|mariadb-10.11|-|FROM t WHERE IN (SUBQUERY c:number)"}, found


def test_a_string_in_a_prefix_indexed_subquery_column_signs_once_and_not_as_a_number_in_a_numeric_one() -> None:
    """mariadb-default/002 (`'' IN`) signed as the FLOAT-index file before, and --known named the wrong kept
    file for it; mariadb-utf8mb4/011 (LEFT), 012 (CONCAT of a column), 013 (CONCAT of constants, NOT IN)."""
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0"
    found = {
        "''": tlp(SUBQUERY_TABLES, base, in_subquery("''", "c4")),
        "LEFT": tlp(SUBQUERY_TABLES, base, in_subquery("LEFT((a0.c1), (2))", "c4")),
        "CONCAT of a column": tlp(SUBQUERY_TABLES, base, in_subquery("CONCAT((a0.c1), (0))", "c4")),
        "CONCAT of constants": tlp(SUBQUERY_TABLES, base, in_subquery("CONCAT(('a '), (0))", "c4", True)),
    }
    assert set(found.values()) == {"wrong-result|mariadb-10.11|-|FROM t WHERE IN (SUBQUERY c:str:prefix)"}, found
    number = tlp(SUBQUERY_TABLES, base, in_subquery("-7583.83", "c2"))
    assert found["''"] != number
    assert tlp(SUBQUERY_TABLES, base, in_subquery("''", "c7")).endswith("IN (SUBQUERY c:str)")  # a whole index
    # the same shapes signed alike before types were read: `FROM t WHERE ((?) IN (SUBQUERY))`


def test_the_kept_prefix_index_file_knows_a_new_shape_of_its_cause_and_the_float_file_does_not() -> None:
    """--known by the kept files: a new find of the prefix-index cause is known through that file's re-signed
    signature, not through the FLOAT-index file's."""
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0"
    found = tlp(SUBQUERY_TABLES, base, in_subquery("''", "c4"))
    assert found in read_known(KEPT / "mariadb-in-subquery-over-prefix-index-true-for-absent-value.sql")
    assert found not in read_known(KEPT / "mariadb-in-subquery-over-float-index-neither-true-nor-false.sql")
    assert found in read_known(KEPT)


def test_a_big_unsigned_bound_against_a_float_signs_once_whichever_bound_and_negated_or_not() -> None:
    """K-btw: mariadb-default/007 (`~DATE` as the upper bound), 011 (`~0` as the lower), mariadb-utf8mb4/005
    (NOT BETWEEN), 024 (`(-1)^2`)."""
    create = ["CREATE TABLE t0 (c0 FLOAT, c1 DOUBLE NOT NULL)"]
    base = "SELECT a0.c1 AS r0 FROM t0 AS a0"
    found = {
        norec(create, "t0 AS a0", "((a0.c0) BETWEEN (0) AND (~(DATE '2000-01-01')))"),
        norec(create, "t0 AS a0", "((a0.c1) BETWEEN (~(0)) AND (0))"),
        norec(create, "t0 AS a0", "((a0.c0) NOT BETWEEN (~(0)) AND (2))"),
        tlp(create, base, "(a0.c1) BETWEEN (100) AND ((-1) ^ (2))"),
    }
    assert found == {"wrong-result|mariadb-10.11|-|FROM t WHERE c:real BETWEEN ?int AND ?uint"}
    assert norec(create, "t0 AS a0", "((a0.c0) BETWEEN (0) AND (7))") not in found  # no bound beyond BIGINT


def test_the_kept_files_of_different_causes_sign_apart_and_of_one_cause_alike() -> None:
    """The reading's families for the kept files: the two decimal-key files are K-ckp, every other file a cause of
    its own."""
    by_file = {}
    for path in sorted(KEPT.glob("*.sql")):
        today = read_known(path) - {line.split(": ", 1)[1] for line in path.read_text().splitlines()
                                    if line.startswith(("-- signature: ", "-- id: "))}
        by_file[path.stem] = sorted(s for s in today if "|" in s)
    assert all(len(s) == 1 for s in by_file.values()), by_file
    signatures = {stem: s[0] for stem, s in by_file.items()}
    one_cause = {"mariadb-composite-key-prefix-ref-with-decimal-constant",
                 "mariadb-unsigned-primary-key-ref-with-decimal-constant-in-right-join"}
    assert len({signatures[s] for s in one_cause}) == 1
    others = [sig for stem, sig in signatures.items() if stem not in one_cause]
    assert len(set(others)) == len(others) == 12 and signatures[min(one_cause)] not in others


def test_having_over_two_group_columns_is_not_the_having_over_a_key_and_a_fraction() -> None:
    """K-hav (two tables' group columns compared; mariadb-utf8mb4/019, the kept file) against K-ckp through HAVING
    (mariadb-default/006): both HAVING, pushed into WHERE, two causes."""
    create = ["CREATE TABLE t0 (c0 SMALLINT NOT NULL, c1 SMALLINT, PRIMARY KEY (c0), INDEX i1 (c1, c0))"]
    group = "SELECT a1.c0 AS g0, a0.c1 AS g1 FROM t0 AS a0 JOIN t0 AS a1 GROUP BY a1.c0, a0.c1"
    two_columns = tlp(create, group, "(a0.c1) >= (a1.c0)", "HAVING")
    strict = tlp(create, group, "(a0.c1) > (a1.c0)", "HAVING")
    fraction = tlp(create, group, "(a1.c0) = (0.5)", "HAVING")
    assert two_columns == strict == "wrong-result|mariadb-10.11|-|FROM t WHERE c:int:key < c:int:key"
    assert fraction != two_columns


def test_a_condition_and_its_negation_sign_alike_and_is_true_and_is_false_apart() -> None:
    create = ["CREATE TABLE t0 (c0 INT, c1 INT, INDEX i1 (c0))"]
    where = [norec(create, "t0 AS a0", p) for p in ("((a0.c0) = (a0.c1))", "((a0.c0) <> (a0.c1))",
                                                    "(NOT ((a0.c0) = (a0.c1)))")]
    assert len(set(where)) == 1
    assert norec(create, "t0 AS a0", "((a0.c0) < (7))") == norec(create, "t0 AS a0", "((a0.c0) >= (7))")
    assert norec(create, "t0 AS a0", "((a0.c0) < (7))") != norec(create, "t0 AS a0", "((a0.c0) > (7))")
    assert norec(create, "t0 AS a0", "((a0.c1) IS NULL)") == norec(create, "t0 AS a0", "((a0.c1) IS NOT NULL)")
    assert norec(create, "t0 AS a0", "(((a0.c1) = (1)) IS TRUE)") != \
        norec(create, "t0 AS a0", "(((a0.c1) = (1)) IS FALSE)")
    assert norec(create, "t0 AS a0", "((a0.c0) <=> (a0.c1))") != where[0]  # NULL-safe equality: its own class


def test_tidb_causes_sign_without_types_so_its_null_aware_anti_join_bug_signs_once() -> None:
    """T-naaj came with every type (tidb-default/001 a DATE subquery column, 005 DECIMAL through a view's column,
    007 TINYINT UNSIGNED, the kept file FLOAT); the outer join made inner (T-oj) is an IN list, another cause."""
    create = ["CREATE TABLE t0 (c0 DATE, c1 DECIMAL(10,4), c2 TINYINT UNSIGNED, c3 FLOAT)",
              "CREATE VIEW v0 (w0) AS SELECT t0.c2 AS w0 FROM t0"]
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0 LEFT JOIN v0 AS a1 ON (NULL)"
    found = {tlp(create, base, f"(NULL) NOT IN (SELECT s1.{c} AS x FROM t0 AS s1 WHERE ((a1.w0) <=> (0)))",
                 server=TIDB) for c in ("c0", "c1", "c2", "c3")}
    found.add(tlp(create, base, "(100) NOT IN (SELECT s1.c1 AS x FROM t0 AS s1 WHERE (a0.c2))", server=TIDB))
    assert found == {"wrong-result|tidb-8.4|-|FROM t WHERE IN (SUBQUERY correlated)"}
    # T-oj as tidb-default/006 and the kept file: the constant beside the columns is the reducer's leftover
    in_list = tlp(create, base, "(0) IN ((a1.w0), (2), (a0.c2))", server=TIDB)
    assert in_list == tlp(create, base, "('') NOT IN ((a1.w0), (a0.c2))", server=TIDB)
    assert in_list == "wrong-result|tidb-8.4|-|FROM t WHERE ? IN (c)"
    assert tlp(create, base, "(0) IN ((2), (3))", server=TIDB) != in_list


def test_the_schema_reads_types_and_which_index_a_column_leads() -> None:
    tables = schema(["CREATE TABLE t0 (c0 INT UNSIGNED NOT NULL, c1 TEXT, c2 DECIMAL(5,2), c3 TIME, "
                     "PRIMARY KEY (c2, c0), INDEX i1 (c1(3), c0))",
                     "CREATE TABLE t1 (c0 BIGINT NOT NULL PRIMARY KEY, c1 DOUBLE)",
                     "CREATE INDEX i2 ON t1 (c1)", "DROP INDEX i2 ON t1", "CREATE INDEX i3 ON t0 (c3)",
                     "CREATE VIEW v0 (w0, w1) AS SELECT DISTINCT t0.c1 AS w0, ABS((t1.c1)) AS w1 FROM t0 "
                     "CROSS JOIN t1"])
    assert tables["t0"] == {"c0": Column("uint"), "c1": Column("str", "prefix"), "c2": Column("decimal", "key"),
                            "c3": Column("time", "key")}
    assert tables["t1"] == {"c0": Column("int", "key"), "c1": Column("real")}
    assert tables["v0"] == {"w0": Column("str", "prefix"), "w1": Column("real")}


def test_a_query_cut_short_still_signs() -> None:
    """A signature is given to whatever a run recorded (a reduction cut short, an old file edited by hand): text
    the renderer would not write signs as far as it can be read, never raises."""
    create = ["CREATE TABLE t0 (c0 INT"]
    assert norec(create, "t0 AS a0", "((a0.c0) NOT IN (") == "wrong-result|mariadb-10.11|-|FROM t WHERE c:int IN ()"
    assert norec(create, "t0 AS a0", "((a0.c0) BETWEEN (1") == (
        "wrong-result|mariadb-10.11|-|FROM t WHERE ((c) BETWEEN (?int))")
    assert norec(create, "t0 AS a0", "(NOT EXISTS") == "wrong-result|mariadb-10.11|-|FROM t WHERE (NOT EXISTS)"


def test_the_hashed_join_cache_not_in_is_told_from_the_numeric_lookup_by_its_session_switch_alone() -> None:
    """mariadb-utf8mb4/037 (K-hash: a correlated NOT IN over DECIMAL NULLs under join_cache_level=4) and 003
    (K-flt: a correlated IN over an unsigned column) have one shape; only the switch the reducer kept tells them
    apart, so it stays in the signature."""
    create = ["CREATE TABLE t0 (c0 DECIMAL(10,4), c1 SMALLINT UNSIGNED, INDEX i1 (c0), INDEX i2 (c1))"]
    base = "SELECT a0.c0 AS r0 FROM t0 AS a0"
    hashed = tlp([*create, "SET SESSION join_cache_level = 4"], base,
                 "(a0.c0) NOT IN (SELECT s1.c0 AS x FROM t0 AS s1 WHERE ((s1.c1) = (a0.c1)))")
    lookup = tlp(create, base, "(DATEDIFF((DATE '2000-01-01'), (DATE '2023-03-01'))) IN "
                               "(SELECT s1.c1 AS x FROM t0 AS s1 WHERE (a0.c0))")
    assert hashed == ("wrong-result|mariadb-10.11|SET SESSION join_cache_level = 4|"
                      "FROM t WHERE IN (SUBQUERY c:number correlated)")
    assert lookup == "wrong-result|mariadb-10.11|-|FROM t WHERE IN (SUBQUERY c:number correlated)"


def test_a_table_made_again_has_only_its_new_indexes() -> None:
    tables = schema(["CREATE TABLE t0 (c0 INT, INDEX i1 (c0))", "CREATE INDEX i2 ON t0 (c0)",
                     "CREATE TABLE t0 (c0 INT, c1 TEXT, INDEX i3 (c1(2)))"])
    assert tables["t0"] == {"c0": Column("int"), "c1": Column("str", "prefix")}
