"""The hunt's generator and renderer: deterministic by seed and version, every operand parenthesised, the
dialect's differences from its one table."""

from __future__ import annotations

from test_rig.hunt import ast as A
from test_rig.hunt import render as R
from test_rig.hunt.dialect import MARIADB, MYSQL, TIDB, dialect_for
from test_rig.hunt.generator import GENERATOR_VERSION, STREAM_VERSION, Generator


def statements(seed: int, dialect: object = MARIADB, cases: int = 40) -> list[str]:
    g = Generator(seed, 0, dialect)  # type: ignore[arg-type]
    out = [R.statement(s, g.dialect) for s in g.setup()]
    for _ in range(cases):
        between = g.between_queries()
        if between is not None:
            out.append(R.statement(between, g.dialect))
        out.append(R.query(g.case().query))
    return out


def test_same_seed_same_statements_other_seed_others() -> None:
    assert statements(7) == statements(7)
    assert statements(7) != statements(8)
    # 3: InnoDB tables are created with STATS_AUTO_RECALC=0; 4: cases and rounds follow the oracles chosen (with
    # every oracle, the statements of 3: its stream)
    assert (GENERATOR_VERSION, STREAM_VERSION) == (4, 3)


def test_workers_get_their_own_streams() -> None:
    a = Generator(7, 0)
    b = Generator(7, 1)
    assert [R.statement(s, MARIADB) for s in a.setup()] != [R.statement(s, MARIADB) for s in b.setup()]


def test_every_operand_is_parenthesised() -> None:
    i = A.T("int")
    e = A.Op("binary", "-", (A.Const("1", i), A.Op("binary", "-", (A.Const("2", i), A.Const("3", i)), i)), i)
    assert R.expr(e) == "(1) - ((2) - (3))"
    n = A.Op("prefix", "NOT", (A.Op("binary", "XOR", (A.Col("a0", "c0", i), A.Const("1", i)), i),), i)
    assert R.expr(n) == "NOT ((a0.c0) XOR (1))"
    f = A.Op("func", "DATE_ADD", (A.Col("a0", "c1", A.T("date")), A.Const("INTERVAL 3 DAY", i)), A.T("date"))
    assert R.expr(f) == "DATE_ADD((a0.c1), INTERVAL 3 DAY)"


def test_only_deterministic_functions() -> None:
    text = " ".join(statements(3, cases=300)).upper()
    for word in ("RAND(", "NOW(", "UUID(", "@", "LIMIT", "SYSDATE", "CURRENT_"):
        assert word not in text


def test_group_by_selects_only_its_columns_and_aggregates() -> None:
    g = Generator(11)
    g.setup()
    for _ in range(300):
        q = g.case().query
        while isinstance(q, A.With):
            q = q.body
        if isinstance(q, A.Select) and q.group_by:
            assert all(i.expr in q.group_by or isinstance(i.expr, A.Agg) for i in q.items)


def test_strings_compared_within_one_collation() -> None:
    g = Generator(5)
    g.setup()

    def walk(e: A.Expr) -> None:
        if isinstance(e, A.Op) and e.kind == "binary" and e.op in ("=", "<>", "<", "<=", ">", ">=", "<=>"):
            colls = {a.type.collation for a in e.args if a.type.family == "str" and a.type.collation}
            assert len(colls) <= 1, R.expr(e)
        for c in A.children(e):
            walk(c)

    for _ in range(300):
        walk(g.case().predicate)


def test_dialect_table() -> None:
    assert dialect_for("tidb") is TIDB and dialect_for("mariadb") is MARIADB and dialect_for("mysql") is MYSQL
    table = A.Table("t0", (A.Column("c0", "INT", A.T("int"), False),), ("c0",), "CLUSTERED")
    assert R.create_table(table, TIDB) == "CREATE TABLE t0 (c0 INT NOT NULL, PRIMARY KEY (c0) CLUSTERED)"
    # statistics only from the generator's ANALYZE TABLE, which a replay repeats, never from InnoDB's background
    # recalculation, whose moment depends on timing (plans follow statistics: a replay would not be faithful)
    assert R.create_table(table, MARIADB) == "CREATE TABLE t0 (c0 INT NOT NULL, PRIMARY KEY (c0)) STATS_AUTO_RECALC=0"
    assert R.create_table(table, MYSQL).endswith(") STATS_AUTO_RECALC=0")
    assert "hash-join" in TIDB.plans and "switch-index_merge" in MARIADB.plans and "no-bnl" in MYSQL.plans
    assert MARIADB.plans["switch-index_merge"](["a0"], {}) == ("SET STATEMENT optimizer_switch='index_merge=off' "
                                                               "FOR ", "", "")
    assert TIDB.plans["hash-join"](["a0"], {}) is None  # a join hint needs two tables
    assert TIDB.plans["hash-join"](["a0", "a1"], {}) == ("", "HASH_JOIN(a0, a1)", "")


def test_schemas_have_the_types_asked_for() -> None:
    seen: set[str] = set()
    for seed in range(30):
        g = Generator(seed)
        for s in g.setup():
            if isinstance(s, A.CreateTable):
                seen |= {c.sql_type.split("(")[0].split(" ")[0] for c in s.table.columns}
    assert {"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE", "CHAR", "VARCHAR",
            "TEXT", "DATE", "DATETIME", "TIME", "BOOL"} <= seen


def test_having_never_reads_a_string_group_column() -> None:
    """A group of strings equal under the collation shows the server's choice of them: a HAVING that tells
    them apart would keep or drop the group by that choice (a false alarm the 10-minute run showed)."""
    g = Generator(13)
    g.setup()

    def columns(e: A.Expr | None) -> list[A.Col]:
        if e is None:
            return []
        own = [e] if isinstance(e, A.Col) else []
        return own + [c for k in A.children(e) for c in columns(k)]

    for _ in range(300):
        case = g.case()
        assert all(c.type.family != "str" for c in columns(case.having))
