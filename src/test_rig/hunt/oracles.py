"""The oracles: each derives, from one generated query case, the queries whose results must agree, and judges
their results. One small interface (`derive`, then `judge`), no server: the runner executes what `derive`
returns and hands the rows to `judge`, so every oracle can be tested on result sets a buggy server would give.

- tlp-where, tlp-distinct, tlp-group-by, tlp-having, tlp-aggregate: ternary logic partitioning (Rigger and Su,
  OOPSLA 2020): a query's rows are the rows of its three partitions by a predicate p (p, NOT p, p IS NULL).
- norec: non-optimizing reference engine construction (FSE 2020): `COUNT(*) ... WHERE p` equals the number of
  rows for which `p IS TRUE` computed in the select list, where the optimizer cannot use it.
- plans: the same query under other plans (hints, optimizer switches, index hints) gives the same rows.
- errors: the query is run as it is; what it judges are errors (see expected.py), in the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from test_rig.hunt import ast as A
from test_rig.hunt import render as R
from test_rig.hunt.compare import Difference, Row, compare
from test_rig.hunt.dialect import Dialect


@dataclass(frozen=True)
class Check:
    """The queries one oracle derived from one case, with what each is (for the report)."""

    oracle: str
    queries: tuple[str, ...]
    labels: tuple[str, ...]
    fold: bool = False
    #: for plans: the variant names, so a reduction keeps asking for the same plan
    variants: tuple[str, ...] = ()
    #: compare as approximate numbers (AVG, whose last decimal digit depends on how it is computed)
    approximate: bool = False


@dataclass(frozen=True)
class Mismatch:
    """Two of a check's queries whose results differ although the oracle says they must agree."""

    oracle: str
    left: int
    right: int
    difference: Difference

    def describe(self, check: Check) -> str:
        return f"{check.labels[self.left]} and {check.labels[self.right]} differ: {self.difference.describe()}"


class Oracle(Protocol):
    @property
    def name(self) -> str: ...

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        """The check for `case` (None when this oracle does not apply to it); `turn` varies the choice where
        there is one (the plans oracle's variants) deterministically."""

    def judge(self, check: Check, results: Sequence[Sequence[Row]]) -> Mismatch | None:
        """The mismatch the results show, or None when they agree."""


def _with(case: A.Case_, sql: str) -> str:
    if case.with_ is None:
        return sql
    return f"WITH {case.with_[0]} AS ({R.query(case.with_[1])}) {sql}"


def _partitions(case: A.Case_, select: A.Select, clause: str = "where") -> tuple[A.Select, A.Select, A.Select]:
    p = case.having if clause == "having" else case.predicate
    assert p is not None
    b = A.T("bool")
    parts = (p, A.Op("prefix", "NOT", (p,), b), A.Op("postfix", "IS NULL", (p,), b))
    if clause == "having":
        return tuple(A.evolve(select, having=x) for x in parts)  # type: ignore[return-value]
    return tuple(A.evolve(select, where=x) for x in parts)  # type: ignore[return-value]


def _union(selects: Sequence[A.Select], op: str) -> str:
    return f" {op} ".join(f"({R.select(s)})" for s in selects)


def _pairwise(name: str, check: Check, results: Sequence[Sequence[Row]]) -> Mismatch | None:
    first = results[0]
    for i in range(1, len(results)):
        left, right = first, results[i]
        if check.approximate and _within_last_digit(left, right):
            continue
        difference = compare(left, right, fold=check.fold)
        if difference is not None:
            return Mismatch(name, 0, i, difference)
    return None


def _within_last_digit(left: Sequence[Row], right: Sequence[Row]) -> bool:
    """AVG's rule: one value each, equal within one unit in the last decimal place of the less precise (AVG is
    rounded to its scale, SUM / COUNT to div_precision_increment more digits, so the two round differently)."""
    from decimal import Decimal

    if len(left) != 1 or len(right) != 1 or len(left[0]) != 1 or len(right[0]) != 1:
        return False
    a, b = left[0][0], right[0][0]
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        exponent = max(int(a.as_tuple().exponent), int(b.as_tuple().exponent))
        return abs(a - b) <= Decimal(1).scaleb(exponent)
    if isinstance(a, float | Decimal | int) and isinstance(b, float | Decimal | int):
        fa, fb = float(a), float(b)
        return abs(fa - fb) <= 1e-6 * max(1.0, abs(fa), abs(fb))
    return False


class _ComparesRows:
    """The judgement of every oracle whose derived queries must agree: each one's rows against the first's."""

    name: str

    def judge(self, check: Check, results: Sequence[Sequence[Row]]) -> Mismatch | None:
        return _pairwise(self.name, check, results)


@dataclass(frozen=True)
class TlpWhere(_ComparesRows):
    name: str = "tlp-where"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        q = case.base
        return Check(self.name, (_with(case, R.select(q)), _with(case, _union(_partitions(case, q), "UNION ALL"))),
                     ("the query", "the union of its partitions by WHERE p, NOT p, p IS NULL"))


@dataclass(frozen=True)
class TlpDistinct(_ComparesRows):
    name: str = "tlp-distinct"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        q = A.evolve(case.base, distinct=True)
        return Check(self.name, (_with(case, R.select(q)), _with(case, _union(_partitions(case, q), "UNION"))),
                     ("the DISTINCT query", "the UNION of its partitions by WHERE p, NOT p, p IS NULL"), fold=True)


def _grouped(case: A.Case_) -> A.Select:
    items = tuple(A.Item(g, f"g{i}") for i, g in enumerate(case.group_by))
    return A.evolve(case.base, items=items, group_by=case.group_by)


@dataclass(frozen=True)
class TlpGroupBy(_ComparesRows):
    name: str = "tlp-group-by"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        if not case.group_by:
            return None
        q = _grouped(case)
        return Check(self.name, (_with(case, R.select(q)), _with(case, _union(_partitions(case, q), "UNION"))),
                     ("the GROUP BY query", "the UNION of its partitions by WHERE p, NOT p, p IS NULL"), fold=True)


@dataclass(frozen=True)
class TlpHaving(_ComparesRows):
    name: str = "tlp-having"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        if not case.group_by or case.having is None:
            return None
        q = _grouped(case)
        return Check(self.name, (_with(case, R.select(q)),
                                 _with(case, _union(_partitions(case, q, "having"), "UNION ALL"))),
                     ("the GROUP BY query", "the union of its partitions by HAVING h, NOT h, h IS NULL"), fold=True)


#: how a partition's aggregate is combined: COUNT's partitions are added, MIN's minimised...
_COMBINE = {"MIN": "MIN", "MAX": "MAX", "SUM": "SUM", "COUNT": "SUM"}


@dataclass(frozen=True)
class TlpAggregate(_ComparesRows):
    name: str = "tlp-aggregate"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        agg = case.aggregate
        if agg is None or agg.distinct:
            return None
        if agg.func == "AVG":
            assert agg.arg is not None
            total = A.evolve(case.base, items=(A.Item(agg, "a"),))
            parts = A.evolve(case.base, items=(A.Item(A.Agg("SUM", agg.arg, agg.type), "s"),
                                              A.Item(A.Agg("COUNT", agg.arg, A.T("int")), "c")))
            combined = f"SELECT SUM(u.s) / SUM(u.c) AS a FROM ({_union(_partitions(case, parts), 'UNION ALL')}) AS u"
            return Check(self.name, (_with(case, R.select(total)), _with(case, combined)),
                         ("AVG over the query", "SUM / COUNT over its partitions"), fold=True, approximate=True)
        total = A.evolve(case.base, items=(A.Item(agg, "a"),))
        combined = (f"SELECT {_COMBINE[agg.func]}(u.a) AS a FROM "
                    f"({_union(_partitions(case, total), 'UNION ALL')}) AS u")
        return Check(self.name, (_with(case, R.select(total)), _with(case, combined)),
                     (f"{agg.func} over the query", f"{_COMBINE[agg.func]} of {agg.func} over its partitions"),
                     fold=True)


@dataclass(frozen=True)
class NoRec(_ComparesRows):
    name: str = "norec"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        count = A.Agg("COUNT", None, A.T("int"))
        optimized = A.evolve(case.base, items=(A.Item(count, "n"),), where=case.predicate)
        flag = A.Op("postfix", "IS TRUE", (case.predicate,), A.T("bool"))
        inner = A.evolve(case.base, items=(A.Item(flag, "f"),))
        reference = f"SELECT COALESCE(SUM(u.f), 0) AS n FROM ({R.select(inner)}) AS u"
        return Check(self.name, (_with(case, R.select(optimized)), _with(case, reference)),
                     ("COUNT(*) WHERE p", "SUM(p IS TRUE) over every row"))


def _aliases(q: A.Query) -> list[str]:
    if isinstance(q, A.Select):
        out = []
        if isinstance(q.source, A.TableRef | A.Derived):
            out.append(q.source.alias)
        out += [j.source.alias for j in q.joins]
        return out
    if isinstance(q, A.SetOp):
        return _aliases(q.left)
    return _aliases(q.body)


def _apply(q: A.Query, hints: str, index_hint: str) -> A.Query:
    if isinstance(q, A.Select):
        derived = not isinstance(q.source, A.TableRef)
        return A.evolve(q, hints=hints, index_hint="" if derived else index_hint)
    if isinstance(q, A.SetOp):
        return A.evolve(q, left=_apply(q.left, hints, index_hint), right=_apply(q.right, hints, index_hint))
    return A.evolve(q, body=_apply(q.body, hints, index_hint))


def _chooses(q: A.Query) -> bool:
    """Whether the server may pick among equal values in this query's result (DISTINCT, GROUP BY, UNION,
    aggregates): then strings are compared folded."""
    if isinstance(q, A.SetOp):
        return True
    if isinstance(q, A.With):
        return _chooses(q.body)
    return q.distinct or bool(q.group_by) or any(isinstance(i.expr, A.Agg) for i in q.items)


@dataclass(frozen=True)
class Plans(_ComparesRows):
    name: str = "plans"
    #: variants tried per check, chosen by turn among those that apply
    per_check: int = 2
    #: only these variants (a reduction keeps the one that showed the difference)
    only: tuple[str, ...] = ()

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        aliases = _aliases(case.query)
        indexes: dict[str, list[str]] = {}
        for alias, index in case.indexes:
            if alias in aliases:
                indexes.setdefault(alias, []).append(index)
        applicable = []
        for name, variant in dialect.plans.items():
            if self.only and name not in self.only:
                continue
            shape = variant(aliases, indexes)
            if shape is not None:
                applicable.append((name, shape))
        if not applicable:
            return None
        chosen = [applicable[(turn + k) % len(applicable)] for k in range(min(self.per_check, len(applicable)))]
        queries = [R.query(case.query)]
        labels = ["the query"]
        for name, (prefix, hints, index_hint) in chosen:
            queries.append(prefix + R.query(_apply(case.query, hints, index_hint)))
            labels.append(f"the query under plan {name}")
        return Check(self.name, tuple(queries), tuple(labels), fold=_chooses(case.query),
                     variants=tuple(n for n, _ in chosen))


@dataclass(frozen=True)
class Errors:
    """Runs the whole query once; the runner judges every error of every statement (expected.py)."""

    name: str = "errors"

    def derive(self, case: A.Case_, dialect: Dialect, turn: int = 0) -> Check | None:
        return Check(self.name, (R.query(case.query),), ("the query",))

    def judge(self, check: Check, results: Sequence[Sequence[Row]]) -> Mismatch | None:
        return None


#: The last part of a case (ast.CASE_PARTS) each oracle reads: a case is drawn only up to what the chosen oracles
#: read. An oracle not listed (a test's own) gets the whole case.
READS = {"tlp-where": "predicate", "tlp-distinct": "predicate", "norec": "predicate", "tlp-group-by": "grouping",
         "tlp-having": "grouping", "tlp-aggregate": "aggregate", "plans": "query", "errors": "query"}


def case_parts(oracles: Sequence[Oracle]) -> str:
    """The part of a case up to which `oracles` read it."""
    return max((READS.get(o.name, "query") for o in oracles), key=A.CASE_PARTS.index, default="query")


ORACLES: dict[str, Oracle] = {o.name: o for o in (TlpWhere(), TlpHaving(), TlpDistinct(), TlpGroupBy(),
                                                  TlpAggregate(), NoRec(), Plans(), Errors())}
