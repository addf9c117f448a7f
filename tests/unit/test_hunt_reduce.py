"""Reduction on data: ddmin over statements and AST shrinking, with a test function standing for the oracle on
a fresh database (the integration tests run the real one)."""

from __future__ import annotations

import asyncio
import re

from test_rig.hunt import ast as A
from test_rig.hunt import render as R
from test_rig.hunt.dialect import MARIADB
from test_rig.hunt.generator import Generator
from test_rig.hunt.oracles import TlpWhere
from test_rig.hunt.reduce import Budget, case_size, ddmin, expr_size, reduce, split_rows

INT = A.T("int")
B = A.T("bool")


def deep_predicate(depth: int) -> A.Expr:
    e: A.Expr = A.Op("postfix", "IS NULL", (A.Col("a0", "c0", INT),), B)
    for i in range(depth):
        other = A.Op("binary", "<", (A.Op("binary", "+", (A.Col("a0", "c1", INT), A.Const(str(i), INT)), INT),
                                     A.Const("5", INT)), B)
        e = A.Op("binary", "AND" if i % 2 else "OR", (e, other), B) if i % 3 else \
            A.Op("prefix", "NOT", (A.Op("prefix", "NOT", (e,), B),), B)
    return e


def _round(seed: int, rows: int, *, analyze: bool = False) -> tuple[list[A.Statement], A.Table, list[A.Statement]]:
    """A generated round: its setup, its first table, and the setup followed by inserts of 3 rows (each followed
    by ANALYZE TABLE when `analyze`) until the round holds at least `rows` rows."""
    g = Generator(seed)
    setup = list(g.setup())
    table = g.tables[0]
    statements: list[A.Statement] = list(setup)
    while len(split_rows(statements)) < rows:
        statements.append(g.insert(table, rows=3))
        if analyze:
            statements.append(A.Analyze(table.name))
    return setup, table, statements


def test_a_deep_finding_reduces_to_a_few_statements_and_a_small_query() -> None:
    setup, table, statements = _round(5, 40, analyze=True)
    marker = A.Insert(table.name, tuple(c.name for c in table.columns), (("NULL",) * len(table.columns),), True)
    statements.insert(len(statements) // 2, marker)
    base = A.Select((A.Item(A.Col("a0", "c0", INT), "r0"), A.Item(A.Col("a0", "c1", INT), "r1"),
                     A.Item(A.Col("a1", "c0", INT), "r2")), A.TableRef(table.name, "a0"),
                    (A.Join("LEFT JOIN", A.TableRef(table.name, "a1"), deep_predicate(3)),))
    case = A.Case_(base, deep_predicate(12), base)
    assert len(split_rows(statements)) >= 30 and expr_size(case.predicate) > 40
    oracle = TlpWhere()

    def derive(c: A.Case_) -> tuple[str, ...] | None:
        d = oracle.derive(c, MARIADB)
        return d.queries if d is not None else None

    create = setup[0]

    async def bug(subset: list[A.Statement], c: A.Case_) -> bool:
        """The server's bug: an all-NULL row in t0 and an IS NULL in the WHERE partitions."""
        return create in subset and marker in subset and "IS NULL" in R.expr(c.predicate) \
            and "a0.c0" in R.expr(c.predicate)

    assert asyncio.run(bug(statements, case))
    reduced = asyncio.run(reduce(statements, case, bug, seconds=30, derive=derive))
    assert reduced.complete
    assert reduced.statements == [create, marker]
    assert R.expr(reduced.case.predicate) == "(a0.c0) IS NULL"
    # the stand-in bug does not read the select list: one item and no join are left (on a server, an item of a
    # dropped join is an error, which does not reproduce, so the real search keeps a valid query)
    assert len(reduced.case.base.items) == 1 and reduced.case.base.joins == ()
    assert case_size(reduced.case) < case_size(case) // 5


def test_ddmin_finds_the_pair_that_matters() -> None:
    items = list(range(50))

    async def test(subset: list[int]) -> bool:
        return 13 in subset and 37 in subset

    assert asyncio.run(ddmin(items, test, Budget(10))) == [13, 37]


def test_the_budget_bounds_the_search_and_keeps_a_reproducing_case() -> None:
    ticks = iter(range(1000))
    budget = Budget(3, clock=lambda: float(next(ticks)))

    async def test(subset: list[int]) -> bool:
        return 13 in subset

    result = asyncio.run(ddmin(list(range(50)), test, budget))
    assert 13 in result and len(result) > 1 and not budget.left()


def test_a_subset_without_a_table_the_case_reads_is_known_not_to_reproduce() -> None:
    from test_rig.hunt.reduce import creates_what_it_reads

    for seed in range(20):
        g = Generator(seed)
        setup = g.setup()
        for _ in range(10):
            case = g.case()
            assert creates_what_it_reads(setup, case)  # the round's statements create all a query reads
            read = set(re.findall(r"(?:FROM|JOIN) ([tv]\d+)\b", R.query(case.query) + R.select(case.base)))
            assert read
            for name in read:  # without the table's or view's CREATE (a view over a table left out fails too)
                kept = [s for s in setup if not ((isinstance(s, A.CreateTable) and s.table.name == name)
                                                 or (isinstance(s, A.CreateView) and s.name == name))]
                assert not creates_what_it_reads(kept, case)
    t0 = A.Table("t0", (A.Column("c0", "INT", INT, True),))
    view = A.CreateView("v0", A.Select((A.Item(A.Col("t0", "c0", INT), "w0"),), A.TableRef("t0", "t0")),
                        (("w0", INT),))
    reads_view = A.Case_(A.Select((A.Item(A.Col("a0", "w0", INT), "r0"),), A.TableRef("v0", "a0")),
                         A.Const("1", INT), A.Select((), A.TableRef("v0", "a0")))
    assert creates_what_it_reads([A.CreateTable(t0), view], reads_view)
    assert not creates_what_it_reads([view, A.CreateTable(t0)], reads_view)  # the view could not be created
    assert not creates_what_it_reads([A.CreateTable(t0)], reads_view)
    cte = A.Case_(A.Select((), A.TableRef("c", "a0")), A.Const("1", INT), A.Select((), A.TableRef("c", "a0")),
                  with_=("c", A.Select((A.Item(A.Col("t0", "c0", INT), "c0"),), A.TableRef("t0", "t0"))))
    assert creates_what_it_reads([A.CreateTable(t0)], cte) and not creates_what_it_reads([], cte)


def test_a_hint_from_another_oracles_reduction_of_the_case_is_tried_first_and_only_kept_when_it_reproduces() -> None:
    """One bug is seen by several oracles of one case; the second reduction starts from the statements and the
    case the first was reduced to when they reproduce with this oracle (fewer replays, the same result), and
    from the whole round when they do not (a hint never makes a case that does not reproduce)."""
    setup, table, statements = _round(9, 60)
    create = next(s for s in setup if isinstance(s, A.CreateTable) and s.table.name == table.name)
    marker = split_rows(statements)[-7]
    case = A.Case_(A.Select((A.Item(A.Col("a0", "c0", INT), "r0"),), A.TableRef(table.name, "a0")),
                   A.Op("postfix", "IS NULL", (A.Col("a0", "c0", INT),), B),
                   A.Select((A.Item(A.Col("a0", "c0", INT), "r0"),), A.TableRef(table.name, "a0")))
    replays: list[int] = []

    async def bug(subset: list[A.Statement], c: A.Case_) -> bool:
        replays.append(len(subset))
        return create in subset and marker in subset

    def derive(c: A.Case_) -> tuple[str, ...] | None:
        d = TlpWhere().derive(c, MARIADB)
        return d.queries if d is not None else None

    first = asyncio.run(reduce(statements, case, bug, seconds=30, derive=derive))
    assert first.complete and first.statements == [create, marker]
    without_hint = len(replays)
    replays.clear()
    second = asyncio.run(reduce(statements, case, bug, seconds=30, derive=derive,
                                hint=(first.statements, first.case)))
    assert (second.statements, second.case, second.complete) == (first.statements, first.case, True)
    assert replays[:2] == [2, 2] and len(replays) < without_hint // 3
    replays.clear()
    wrong = [s for s in split_rows(statements) if s is not marker][:5]  # does not reproduce: ignored
    third = asyncio.run(reduce(statements, case, bug, seconds=30, derive=derive, hint=(wrong, first.case)))
    assert (third.statements, third.case) == (first.statements, first.case)
    assert replays[0] == 5 and len(replays) == without_hint + 1
