"""The hunt's SQL as data: typed expressions, queries and statements (frozen dataclasses), rendered to text by
`render.py` for one server kind's dialect. The generator builds these, the oracles derive new queries from them
and the reducer shrinks them; none of them talks to a server.

Every expression carries its result type (`T`), so the generator can stay type-correct and the reducer can
replace a node by a constant of its own type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

#: Type families the generator reasons about. "bool" is an integer 0/1/NULL that comes from a predicate.
FAMILIES = ("int", "decimal", "real", "str", "date", "datetime", "time", "bool")


@dataclass(frozen=True)
class T:
    """A result type: its family, whether unsigned (int), and for strings the collation that rules comparisons
    ("" for literals and functions of literals, which take the other operand's collation)."""

    family: str
    unsigned: bool = False
    collation: str = ""


@dataclass(frozen=True)
class Const:
    """A literal, kept as the text the servers read (`-0`, `'a '`, `DATE '2020-01-01'`, `NULL`)."""

    text: str
    type: T


@dataclass(frozen=True)
class Col:
    table: str  # the alias in the query's FROM
    name: str
    type: T


@dataclass(frozen=True)
class Op:
    """An operator or function: `kind` is "binary" (`(a) op (b)`), "prefix" (`op (a)`), "postfix"
    (`(a) op`, e.g. IS NULL) or "func" (`op((a), (b))`)."""

    kind: str
    op: str
    args: tuple[Expr, ...]
    type: T


@dataclass(frozen=True)
class Case:
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None
    type: T


@dataclass(frozen=True)
class InList:
    expr: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    type: T = T("bool")


@dataclass(frozen=True)
class Between:
    expr: Expr
    low: Expr
    high: Expr
    negated: bool = False
    type: T = T("bool")


@dataclass(frozen=True)
class Cast:
    expr: Expr
    to: str  # SIGNED, UNSIGNED, CHAR, DECIMAL(10,2), DOUBLE, DATE
    type: T


@dataclass(frozen=True)
class Agg:
    func: str  # COUNT, SUM, MIN, MAX, AVG
    arg: Expr | None  # None: COUNT(*)
    type: T
    distinct: bool = False


@dataclass(frozen=True)
class Exists:
    query: Select
    negated: bool = False
    type: T = T("bool")


@dataclass(frozen=True)
class InQuery:
    expr: Expr
    query: Select
    negated: bool = False
    type: T = T("bool")


@dataclass(frozen=True)
class Scalar:
    """A scalar subquery; the generator only makes ones that return one row (an aggregate without GROUP BY)."""

    query: Select
    type: T


Expr: TypeAlias = Const | Col | Op | Case | InList | Between | Cast | Agg | Exists | InQuery | Scalar


@dataclass(frozen=True)
class TableRef:
    name: str
    alias: str


@dataclass(frozen=True)
class Derived:
    """A derived table `(query) AS alias` whose columns are `columns` (name, type)."""

    query: Query
    alias: str
    columns: tuple[tuple[str, T], ...]


Source: TypeAlias = TableRef | Derived


@dataclass(frozen=True)
class Join:
    kind: str  # "JOIN", "LEFT JOIN", "RIGHT JOIN", "CROSS JOIN", "STRAIGHT_JOIN"
    source: Source
    on: Expr | None


@dataclass(frozen=True)
class Item:
    expr: Expr
    alias: str


@dataclass(frozen=True)
class Select:
    items: tuple[Item, ...]
    source: Source | None
    joins: tuple[Join, ...] = ()
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    distinct: bool = False
    #: optimizer hints placed after SELECT (`/*+ ... */`), already in the server's syntax
    hints: str = ""
    #: index hints after the first table (`USE INDEX (i)`, `IGNORE INDEX (i)`)
    index_hint: str = ""


@dataclass(frozen=True)
class SetOp:
    left: Query
    right: Query
    op: str  # "UNION", "UNION ALL"


@dataclass(frozen=True)
class With:
    """WITH name AS (query) body: a CTE read by `body` as a table named `name`."""

    name: str
    query: Query
    body: Query


Query: TypeAlias = Select | SetOp | With


# --------------------------------------------------------------------------- schema and statements


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # as written in CREATE TABLE, e.g. "BIGINT UNSIGNED", "VARCHAR(12) COLLATE latin1_bin"
    type: T
    nullable: bool = True


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[tuple[str, int | None], ...]  # (column, prefix length)
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    #: TiDB: CLUSTERED / NONCLUSTERED primary key ("" elsewhere)
    clustering: str = ""
    indexes: tuple[Index, ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class CreateTable:
    table: Table


@dataclass(frozen=True)
class Insert:
    table: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # literal texts
    ignore: bool = False


@dataclass(frozen=True)
class Update:
    table: str
    sets: tuple[tuple[str, Expr], ...]
    where: Expr | None


@dataclass(frozen=True)
class Delete:
    table: str
    where: Expr | None


@dataclass(frozen=True)
class CreateIndex:
    table: str
    index: Index


@dataclass(frozen=True)
class DropIndex:
    table: str
    name: str


@dataclass(frozen=True)
class Analyze:
    table: str


@dataclass(frozen=True)
class CreateView:
    name: str
    query: Query
    columns: tuple[tuple[str, T], ...]


@dataclass(frozen=True)
class SetSession:
    """A session variable that changes plans (optimizer switches, TiDB's tidb_opt_* and tidb_enable_*)."""

    name: str
    value: str  # as the server reads it: ON, OFF, 'index_merge=off'


Statement: TypeAlias = (CreateTable | Insert | Update | Delete | CreateIndex | DropIndex | Analyze | CreateView
                        | SetSession)


@dataclass(frozen=True)
class Case_:
    """What a check starts from: the generated query parts the oracles derive their queries from.
    `query` is a whole query (the plans oracle runs it as it is); `base` is a SELECT without WHERE, GROUP BY
    or HAVING, and `predicate` a condition, from which TLP and NoREC build their partitions."""

    base: Select
    predicate: Expr
    query: Query
    #: aggregate candidates for TLP-aggregate: (function, argument)
    aggregate: Agg | None = None
    #: group-by columns (TLP group by and having) and a HAVING predicate over them
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    #: index names usable by the plans oracle, per table alias in `query`
    indexes: tuple[tuple[str, str], ...] = field(default=())
    #: a CTE every derived query starts with (`WITH name AS (query)`), when a source reads one
    with_: tuple[str, Query] | None = None


#: The parts of a case in the order the generator draws them: the base and the predicate, the group-by columns
#: and HAVING, the aggregate, the whole query. An oracle reads up to one of them (oracles.READS).
CASE_PARTS = ("predicate", "grouping", "aggregate", "query")


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct subexpressions of an expression (not those inside subqueries)."""
    if isinstance(node, Op):
        return node.args
    if isinstance(node, Case):
        out: list[Expr] = []
        for cond, value in node.whens:
            out += [cond, value]
        if node.default is not None:
            out.append(node.default)
        return tuple(out)
    if isinstance(node, InList):
        return (node.expr, *node.items)
    if isinstance(node, Between):
        return (node.expr, node.low, node.high)
    if isinstance(node, Cast):
        return (node.expr,)
    if isinstance(node, Agg):
        return () if node.arg is None else (node.arg,)
    if isinstance(node, InQuery):
        return (node.expr,)
    return ()


_Node = TypeVar("_Node")


def evolve(node: _Node, **changes: Any) -> _Node:
    """`dataclasses.replace` for these nodes (none has an `__init__` of its own or a `__post_init__`), at a fifth
    of its cost: the oracles and the generator make about thirty such copies a case, and `replace` was the largest
    single item of the hunt's own CPU (issue 19). Raises TypeError for a field the node does not have."""
    fields = node.__dict__
    if not changes.keys() <= fields.keys():
        raise TypeError(f"{type(node).__name__} has no field {sorted(changes.keys() - fields.keys())[0]}")
    new = object.__new__(type(node))
    new.__dict__.update(fields)
    new.__dict__.update(changes)
    return new
