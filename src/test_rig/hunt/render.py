"""The hunt's AST as SQL text. Every operand is parenthesised, so the text means exactly the tree whatever the
servers' operator precedence (which differs: `!` and NOT, `||`, XOR); identifiers are the generator's own
(`t0`, `c3`, `i1`), so they need no quoting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_rig.hunt import ast as A
from test_rig.hunt.dialect import Dialect

#: Rendered text of composite expressions, by the node's identity. The oracles of one case render the same
#: subtrees again and again (TLP's predicate in three partitions, the base query in every oracle's queries):
#: rendering was the largest part of the hunt's own CPU (issue 19). The node is kept beside its text, so its
#: id cannot be reused while the entry lives; the table is emptied when it grows past `_MEMO_LIMIT`.
_memo: dict[int, tuple[A.Expr, str]] = {}
_MEMO_LIMIT = 50_000


def expr(e: A.Expr) -> str:
    if type(e) is A.Col:
        return f"{e.table}.{e.name}"
    if type(e) is A.Const:
        return e.text
    hit = _memo.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    text = _RENDER.get(type(e), _not_an_expression)(e)
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[id(e)] = (e, text)
    return text


def _op(e: A.Op) -> str:
    if e.kind == "binary":
        return f"({expr(e.args[0])}) {e.op} ({expr(e.args[1])})"
    if e.kind == "prefix":
        return f"{e.op} ({expr(e.args[0])})"
    if e.kind == "postfix":
        return f"({expr(e.args[0])}) {e.op}"
    return f"{e.op}(" + ", ".join(_arg(a) for a in e.args) + ")"


def _case(e: A.Case) -> str:
    whens = " ".join(f"WHEN ({expr(c)}) THEN ({expr(v)})" for c, v in e.whens)
    default = f" ELSE ({expr(e.default)})" if e.default is not None else ""
    return f"CASE {whens}{default} END"


def _in_list(e: A.InList) -> str:
    return f"({expr(e.expr)}) {'NOT IN' if e.negated else 'IN'} (" + ", ".join(f"({expr(i)})" for i in e.items) \
        + ")"


def _between(e: A.Between) -> str:
    return f"({expr(e.expr)}) {'NOT BETWEEN' if e.negated else 'BETWEEN'} ({expr(e.low)}) AND ({expr(e.high)})"


def _cast(e: A.Cast) -> str:
    return f"CAST(({expr(e.expr)}) AS {e.to})"


def _agg(e: A.Agg) -> str:
    inner = "*" if e.arg is None else f"{'DISTINCT ' if e.distinct else ''}({expr(e.arg)})"
    return f"{e.func}({inner})"


def _exists(e: A.Exists) -> str:
    return f"{'NOT ' if e.negated else ''}EXISTS ({query(e.query)})"


def _in_query(e: A.InQuery) -> str:
    return f"({expr(e.expr)}) {'NOT IN' if e.negated else 'IN'} ({query(e.query)})"


def _scalar(e: A.Scalar) -> str:
    return f"({query(e.query)})"


def _not_an_expression(e: object) -> str:
    raise TypeError(f"not an expression: {e!r}")


_RENDER: dict[type, Callable[[Any], str]] = {A.Op: _op, A.Case: _case, A.InList: _in_list, A.Between: _between,
                                             A.Cast: _cast, A.Agg: _agg, A.Exists: _exists, A.InQuery: _in_query,
                                             A.Scalar: _scalar}


def _arg(a: A.Expr) -> str:
    if isinstance(a, A.Const) and a.text.startswith("INTERVAL"):
        return a.text  # `(INTERVAL 3 DAY)` is not SQL
    return f"({expr(a)})"


def source(s: A.Source) -> str:
    if isinstance(s, A.TableRef):
        return s.name if s.name == s.alias else f"{s.name} AS {s.alias}"
    return f"({query(s.query)}) AS {s.alias}"


def select(q: A.Select, dialect: Dialect | None = None) -> str:
    hints = f"/*+ {q.hints} */ " if q.hints else ""
    parts = [f"SELECT {hints}{'DISTINCT ' if q.distinct else ''}"
             + ", ".join(f"{expr(i.expr)} AS {i.alias}" for i in q.items)]
    if q.source is not None:
        parts.append(f"FROM {source(q.source)}" + (f" {q.index_hint}" if q.index_hint else ""))
    for j in q.joins:
        on = f" ON ({expr(j.on)})" if j.on is not None else ""
        parts.append(f"{j.kind} {source(j.source)}{on}")
    if q.where is not None:
        parts.append(f"WHERE ({expr(q.where)})")
    if q.group_by:
        parts.append("GROUP BY " + ", ".join(expr(g) for g in q.group_by))
    if q.having is not None:
        parts.append(f"HAVING ({expr(q.having)})")
    return " ".join(parts)


def query(q: A.Query) -> str:
    if isinstance(q, A.Select):
        return select(q)
    if isinstance(q, A.SetOp):
        return f"({query(q.left)}) {q.op} ({query(q.right)})"
    return f"WITH {q.name} AS ({query(q.query)}) {_body(q.body)}"


def _body(q: A.Query) -> str:
    # A set operation after WITH is written bare: `WITH c AS (...) (SELECT ...) UNION (SELECT ...)` is read
    # by every server, a parenthesised whole is not (MariaDB).
    return query(q)


def statement(s: A.Statement, dialect: Dialect) -> str:
    if isinstance(s, A.CreateTable):
        return create_table(s.table, dialect)
    if isinstance(s, A.Insert):
        rows = ", ".join("(" + ", ".join(r) + ")" for r in s.rows)
        return f"INSERT {'IGNORE ' if s.ignore else ''}INTO {s.table} ({', '.join(s.columns)}) VALUES {rows}"
    if isinstance(s, A.Update):
        sets = ", ".join(f"{c} = ({expr(v)})" for c, v in s.sets)
        return f"UPDATE {s.table} SET {sets}" + (f" WHERE ({expr(s.where)})" if s.where is not None else "")
    if isinstance(s, A.Delete):
        return f"DELETE FROM {s.table}" + (f" WHERE ({expr(s.where)})" if s.where is not None else "")
    if isinstance(s, A.CreateIndex):
        return f"CREATE {'UNIQUE ' if s.index.unique else ''}INDEX {s.index.name} ON {s.table} " \
               f"({_index_columns(s.index)})"
    if isinstance(s, A.DropIndex):
        return f"DROP INDEX {s.name} ON {s.table}"
    if isinstance(s, A.Analyze):
        return f"ANALYZE TABLE {s.table}"
    if isinstance(s, A.CreateView):
        return f"CREATE VIEW {s.name} ({', '.join(n for n, _ in s.columns)}) AS {query(s.query)}"
    if isinstance(s, A.SetSession):
        return f"SET SESSION {s.name} = {s.value}"
    raise TypeError(f"not a statement: {s!r}")


def _index_columns(index: A.Index) -> str:
    return ", ".join(f"{c}({n})" if n else c for c, n in index.columns)


def create_table(t: A.Table, dialect: Dialect) -> str:
    parts = [f"{c.name} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in t.columns]
    if t.primary_key:
        clustering = f" {t.clustering}" if t.clustering and dialect.clustered_keys else ""
        parts.append(f"PRIMARY KEY ({', '.join(t.primary_key)}){clustering}")
    for index in t.indexes:
        parts.append(f"{'UNIQUE ' if index.unique else ''}INDEX {index.name} ({_index_columns(index)})")
    return f"CREATE TABLE {t.name} ({', '.join(parts)}){dialect.table_options}"
