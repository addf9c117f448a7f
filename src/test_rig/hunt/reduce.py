"""Reduction of a confirmed finding: delta debugging over its statements (Zeller's ddmin, multi-row INSERTs
split into rows first), then shrinking of the query case's AST (a node replaced by one of its children or by a
constant, joins, select items and clauses dropped), then ddmin once more. Every step is checked by the caller's
`test` — the same oracle on a fresh database — and the whole stays within a time budget: what it has when the
budget runs out is kept (still a reproducing case, only a bigger one).

Pure apart from `test`: the search takes data and returns data, and is tested with a test function on data."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, TypeVar

from test_rig.hunt import ast as A

X = TypeVar("X")
Test = Callable[[list[A.Statement], A.Case_], Awaitable[bool]]

_NULL = A.Const("NULL", A.T("int"))
_ZERO = A.Const("0", A.T("int"))
_ONE = A.Const("1", A.T("int"))


def split_rows(statements: Sequence[A.Statement]) -> list[A.Statement]:
    """Each multi-row INSERT as one INSERT per row, so rows can be removed one by one."""
    out: list[A.Statement] = []
    for s in statements:
        if isinstance(s, A.Insert) and len(s.rows) > 1:
            out += [replace(s, rows=(row,)) for row in s.rows]
        else:
            out.append(s)
    return out


@dataclass
class Budget:
    seconds: float
    clock: Callable[[], float] = time.monotonic
    tests: int = 0

    def __post_init__(self) -> None:
        self.deadline = self.clock() + self.seconds

    def left(self) -> bool:
        return self.clock() < self.deadline


async def ddmin(items: list[X], test: Callable[[list[X]], Awaitable[bool]], budget: Budget) -> list[X]:
    """The smallest sublist (1-minimal when the budget allows) for which `test` holds; `test(items)` is assumed."""
    n = 2
    while len(items) >= 2 and budget.left():
        size = max(1, len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        reduced = False
        for i in range(len(chunks)):
            if not budget.left():
                break
            complement = [x for j, c in enumerate(chunks) if j != i for x in c]
            budget.tests += 1
            if complement and await test(complement):
                items = complement
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return items


# --------------------------------------------------------------------------- AST shrinking


def with_children(node: A.Expr, kids: Sequence[A.Expr]) -> A.Expr:
    """`node` with its direct subexpressions (in `ast.children` order) replaced by `kids`."""
    if isinstance(node, A.Op):
        return replace(node, args=tuple(kids))
    if isinstance(node, A.Case):
        pairs = tuple((kids[2 * i], kids[2 * i + 1]) for i in range(len(node.whens)))
        return replace(node, whens=pairs, default=kids[-1] if node.default is not None else None)
    if isinstance(node, A.InList):
        return replace(node, expr=kids[0], items=tuple(kids[1:]))
    if isinstance(node, A.Between):
        return replace(node, expr=kids[0], low=kids[1], high=kids[2])
    if isinstance(node, A.Cast):
        return replace(node, expr=kids[0])
    if isinstance(node, A.Agg):
        return replace(node, arg=kids[0]) if kids else node
    if isinstance(node, A.InQuery):
        return replace(node, expr=kids[0])
    return node


def expr_size(node: A.Expr | None) -> int:
    if node is None:
        return 0
    inner = 0
    if isinstance(node, A.Exists | A.InQuery | A.Scalar):
        inner = select_size(node.query)
    return 1 + inner + sum(expr_size(c) for c in A.children(node))


def select_size(q: A.Query) -> int:
    if isinstance(q, A.SetOp):
        return select_size(q.left) + select_size(q.right) + 1
    if isinstance(q, A.With):
        return select_size(q.query) + select_size(q.body) + 1
    size = sum(expr_size(i.expr) for i in q.items) + expr_size(q.where) + expr_size(q.having)
    size += sum(1 + expr_size(j.on) + _source_size(j.source) for j in q.joins) + len(q.group_by)
    return size + (_source_size(q.source) if q.source is not None else 0) + (1 if q.distinct else 0)


def _source_size(s: A.Source) -> int:
    return 1 if isinstance(s, A.TableRef) else 1 + select_size(s.query)


def case_size(case: A.Case_) -> int:
    return (select_size(case.base) + expr_size(case.predicate) + select_size(case.query) + expr_size(case.having)
            + expr_size(case.aggregate))


def shrink_expr(node: A.Expr) -> Iterator[A.Expr]:
    """Smaller expressions to try instead of `node`, biggest steps first."""
    kids = A.children(node)
    yield from kids
    if isinstance(node, A.Exists | A.InQuery | A.Scalar):
        q = node.query
        if isinstance(q, A.Select) and q.where is not None:
            yield replace(node, query=replace(q, where=None))
            for w in shrink_expr(q.where):
                yield replace(node, query=replace(q, where=w))
    if not isinstance(node, A.Const):
        yield from (_NULL, _ZERO, _ONE)
    for i, kid in enumerate(kids):
        for smaller in shrink_expr(kid):
            yield with_children(node, [*kids[:i], smaller, *kids[i + 1:]])


def shrink_select(q: A.Select) -> Iterator[A.Select]:
    for i in range(len(q.joins)):
        yield replace(q, joins=q.joins[:i] + q.joins[i + 1:])
    if q.where is not None:
        yield replace(q, where=None)
    if q.having is not None:
        yield replace(q, having=None)
    if q.distinct:
        yield replace(q, distinct=False)
    if len(q.items) > 1:
        for i in range(len(q.items)):
            yield replace(q, items=q.items[:i] + q.items[i + 1:])
    for i, j in enumerate(q.joins):
        if j.on is not None:
            for on in (None, *shrink_expr(j.on)):
                if on is None and j.kind not in ("JOIN", "CROSS JOIN", "STRAIGHT_JOIN"):
                    continue
                yield replace(q, joins=(*q.joins[:i], replace(j, on=on), *q.joins[i + 1:]))
    if isinstance(q.source, A.Derived) and isinstance(q.source.query, A.Select):
        inner = q.source.query
        if inner.where is not None:
            yield replace(q, source=replace(q.source, query=replace(inner, where=None)))
    if isinstance(q.source, A.Derived) and isinstance(q.source.query, A.SetOp):
        for side in (q.source.query.left, q.source.query.right):
            yield replace(q, source=replace(q.source, query=side))
    for i, item in enumerate(q.items):
        if isinstance(item.expr, A.Col | A.Agg):
            continue  # a column or an aggregate is as small as an item gets (and an aggregate's argument stays)
        for smaller in shrink_expr(item.expr):
            yield replace(q, items=(*q.items[:i], replace(item, expr=smaller), *q.items[i + 1:]))
    if q.where is not None:
        for w in shrink_expr(q.where):
            yield replace(q, where=w)
    if q.having is not None:
        for h in shrink_expr(q.having):
            yield replace(q, having=h)


def shrink_query(q: A.Query) -> Iterator[A.Query]:
    if isinstance(q, A.SetOp):
        yield q.left
        yield q.right
        for left in shrink_query(q.left):
            yield replace(q, left=left)
        for right in shrink_query(q.right):
            yield replace(q, right=right)
    elif isinstance(q, A.With):
        for body in shrink_query(q.body):
            yield replace(q, body=body)
    else:
        yield from shrink_select(q)


def shrink_case(case: A.Case_) -> Iterator[A.Case_]:
    """Smaller cases: the base SELECT (its joins, items, sources), the predicate, the HAVING condition and the
    plans oracle's whole query. The group-by columns are left alone: without them a grouped query's columns
    would be the server's choice."""
    for base in shrink_select(case.base):
        # a join dropped from the base is dropped from the whole query too, when it is the same join
        yield replace(case, base=base)
    yield from (replace(case, predicate=p) for p in shrink_expr(case.predicate))
    if case.having is not None:
        yield replace(case, having=None)
        yield from (replace(case, having=h) for h in shrink_expr(case.having))
    yield from (replace(case, query=q) for q in shrink_query(case.query))


async def shrink(case: A.Case_, statements: list[A.Statement], test: Test, budget: Budget,
                 derive: Callable[[A.Case_], Any]) -> A.Case_:
    """Greedy: take the first smaller case that still reproduces, start again from it; stop when none does or
    the budget is spent. A candidate whose derived queries are the same as the current ones (a part the oracle
    does not read) is taken without asking the server."""
    current_queries = derive(case)
    #: derived queries already tried and found not to reproduce (the statements do not change here): after each
    #: step the search starts again from the first candidate, and these are not asked again
    refused: set[Any] = set()
    progress = True
    while progress and budget.left():
        progress = False
        size = case_size(case)
        for candidate in shrink_case(case):
            if not budget.left():
                break
            queries = derive(candidate)
            if queries is None or queries in refused:
                continue
            if queries == current_queries:
                if case_size(candidate) < size:
                    case, progress = candidate, True
                    break
                continue
            budget.tests += 1
            if await test(statements, candidate):
                case, current_queries, progress = candidate, queries, True
                break
            refused.add(queries)
    return case


@dataclass
class Reduced:
    statements: list[A.Statement]
    case: A.Case_
    tests: int
    seconds: float
    #: False when the budget ran out before the search ended (the case still reproduces)
    complete: bool


def _table_names(node: object) -> Iterator[str]:
    """Every table or view name a node reads (in FROM and JOIN, in subqueries and derived tables too)."""
    if isinstance(node, A.TableRef):
        yield node.name
    elif isinstance(node, tuple):
        for item in node:
            yield from _table_names(item)
    elif is_dataclass(node) and not isinstance(node, type):
        for f in fields(node):
            yield from _table_names(getattr(node, f.name))


def creates_what_it_reads(statements: Sequence[A.Statement], case: A.Case_) -> bool:
    """Whether `statements` create every table and view that `case` reads (a view counts once the tables it
    reads are created before it). When not, each of the case's queries can only fail with "doesn't exist",
    which reproduces no finding: the runner answers such a subset without rebuilding a database for it — 43 %
    of a reduction's replays were such subsets of ddmin's, and each costs a DROP and CREATE DATABASE."""
    created: set[str] = set()
    for s in statements:
        if isinstance(s, A.CreateTable):
            created.add(s.table.name)
        elif isinstance(s, A.CreateView) and set(_table_names(s.query)) <= created:
            created.add(s.name)
    read = set(_table_names(case))
    if case.with_ is not None:
        read.discard(case.with_[0])  # the CTE: a name the query defines, not one a statement creates
    return read <= created


async def reduce(statements: Sequence[A.Statement], case: A.Case_, test: Test, *, seconds: float,
                 derive: Callable[[A.Case_], Any], clock: Callable[[], float] = time.monotonic,
                 hint: tuple[Sequence[A.Statement], A.Case_] | None = None) -> Reduced:
    """The smallest reproducing (statements, case) found within `seconds`. `hint`: what another oracle's finding
    of the same case was reduced to (one bug is often seen by four or five oracles at once, and each reduction
    from the whole round cost 12-15 s of a 300 s MariaDB run). When its statements reproduce with this case,
    ddmin starts from them, and when its case reproduces too (it may have lost a part only this oracle reads),
    the shrinking starts from it; what does not reproduce is not taken, as without a hint."""
    budget = Budget(seconds, clock)
    started = clock()
    items = split_rows(statements)

    async def test_statements(subset: list[A.Statement]) -> bool:
        return await test(subset, case)

    if hint is not None:
        hinted, hinted_case = list(hint[0]), hint[1]
        if hinted != items and budget.left():
            budget.tests += 1
            if await test_statements(hinted):
                items = hinted
        if items == hinted and hinted_case != case and budget.left():
            budget.tests += 1
            if await test(items, hinted_case):
                case = hinted_case  # test_statements reads it from here on
    items = await ddmin(items, test_statements, budget)
    case = await shrink(case, items, test, budget, derive)

    async def test_again(subset: list[A.Statement]) -> bool:
        return await test(subset, case)

    items = await ddmin(items, test_again, budget)
    return Reduced(items, case, budget.tests, clock() - started, budget.left())


__all__ = ["Budget", "Reduced", "creates_what_it_reads", "ddmin", "reduce", "shrink", "shrink_case", "split_rows"]
