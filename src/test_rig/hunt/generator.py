"""The hunt's generator: seeded, versioned, deterministic. From (seed, worker, GENERATOR_VERSION, the parts of a
case the chosen oracles read) it produces the same schemas, rows, statements between queries and query cases,
whatever the server answers, so a run can be repeated statement for statement.

Type-correct by construction, because a query whose result the servers may choose (which is what most false
alarms are) must never be generated: only deterministic functions; GROUP BY selects only its own columns and
aggregates; HAVING compares exact aggregates only (a floating-point SUM may round differently per plan);
scalar subqueries are aggregates without GROUP BY (one row); strings are compared only within one collation or
with literals (a collation mix is an error, not a result); string data is ASCII, so case is the only folding a
collation does."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from test_rig.hunt import ast as A
from test_rig.hunt.dialect import MARIADB, Dialect

#: Bumped whenever the same seed would give different statements: it is part of every finding. 4: a case is
#: drawn only up to the parts the chosen oracles read, and with fewer than every oracle rounds are longer and
#: statements between queries rarer (hunt/runner.py), so a subset of the oracles draws other statements; with
#: every oracle they are version 3's.
GENERATOR_VERSION = 4
#: The version whose random streams the generator draws from (part of its seed): still 3's, since version 4
#: draws the same with every oracle. A version that changes what every run draws sets it to itself.
STREAM_VERSION = 3

INT_TYPES = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 24, "INT": 32, "BIGINT": 64}
NUMERIC = ("int", "decimal", "real", "bool")
STRINGS = ("", " ", "a", "A", "a ", "ab", "B", "0", "1", "-1", "1e2", " 12", "abc", "Abc", "b", "Z", "10")
DATES = ("2000-01-01", "1970-01-01", "2024-02-29", "9999-12-31", "1000-01-01", "2023-06-15")
DATETIMES = ("2000-01-01 00:00:00", "2024-02-29 23:59:59", "1970-01-01 00:00:01", "2023-06-15 12:30:00")
TIMES = ("00:00:00", "-01:02:03", "838:59:59", "12:34:56", "23:59:59")
LIKE_PATTERNS = ("'a%'", "'%a'", "'%'", "'_'", "'a_'", "'%b%'", "''", "'A%'", "'1%'")
REGEXPS = ("'^a'", "'b$'", "'[0-9]'", "'^$'", "'a|b'", "'^[A-Z]'")


@dataclass
class Scope:
    """What an expression may refer to: the columns of the sources in scope, and whether aggregates are allowed."""

    columns: list[A.Col]
    aggregates: bool = False
    subqueries: bool = True
    depth: int = 0

    def deeper(self) -> Scope:
        return Scope(self.columns, self.aggregates, self.subqueries, self.depth + 1)


@dataclass
class Generator:
    seed: int
    worker: int = 0
    dialect: Dialect = MARIADB
    #: the session switches the server accepted (dialect.session_switches filtered by the runner)
    switches: tuple[tuple[str, tuple[str, ...]], ...] = ()
    max_depth: int = 3

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}/{self.worker}/{STREAM_VERSION}")
        self.tables: list[A.Table] = []
        self.views: list[A.CreateView] = []
        self._names = 0

    # ------------------------------------------------------------------ names and literals

    def _name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def literal(self, t: A.T, column: A.Column | None = None) -> str:
        r = self.rng
        f = t.family
        if f in ("int", "bool"):
            if column is not None and f == "int":
                bits = next((b for n, b in INT_TYPES.items() if column.sql_type.startswith(n)), 64)
                if t.unsigned:
                    edges = [0, 1, 2 ** bits - 1, 2 ** (bits - 1)]
                else:
                    edges = [0, 1, -1, 2 ** (bits - 1) - 1, -(2 ** (bits - 1))]
                choice = r.random()
                if choice < 0.25:
                    return str(r.choice(edges))
                if choice < 0.3:
                    return "-0"
                return str(r.randint(0 if t.unsigned else -20, 20))
            return str(r.choice((0, 1, -1, 2, 3, 10, 100, -7)) if f == "int" else r.choice((0, 1)))
        if f == "decimal":
            precision, scale = _decimal_shape(column.sql_type) if column is not None else (10, 2)
            whole = precision - scale
            if r.random() < 0.2:
                return r.choice(("0", "-0.0", "9" * whole + ("." + "9" * scale if scale else "")))
            digits = str(r.randint(0, 10 ** min(whole, 4) - 1))
            frac = "." + "".join(r.choice("0123456789") for _ in range(scale)) if scale else ""
            return ("-" if r.random() < 0.3 else "") + digits + frac
        if f == "real":
            return r.choice(("0", "-0e0", "1.5", "-2.25", "0.1", "3.14159", "1e10", "-1e-5", "100", "0.5", "7"))
        if f == "str":
            length = _str_length(column.sql_type) if column is not None else 5
            value = r.choice([s for s in STRINGS if len(s) <= length])
            return "'" + value + "'"
        if f == "date":
            return f"'{r.choice(DATES)}'" if column is not None else f"DATE '{r.choice(DATES)}'"
        if f == "datetime":
            return f"'{r.choice(DATETIMES)}'" if column is not None else f"TIMESTAMP '{r.choice(DATETIMES)}'"
        if f == "time":
            return f"'{r.choice(TIMES)}'" if column is not None else f"TIME '{r.choice(TIMES[:2] + TIMES[3:])}'"
        raise ValueError(f)

    # ------------------------------------------------------------------ schema

    def column_type(self, name: str) -> A.Column:
        r = self.rng
        kind = r.choice(("int", "int", "int", "decimal", "real", "str", "str", "date", "datetime", "time", "bool"))
        nullable = r.random() < 0.7
        if kind == "int":
            base = r.choice(list(INT_TYPES))
            unsigned = r.random() < 0.3
            return A.Column(name, base + (" UNSIGNED" if unsigned else ""), A.T("int", unsigned), nullable)
        if kind == "bool":
            return A.Column(name, "BOOL", A.T("int"), nullable)
        if kind == "decimal":
            precision = r.choice((5, 10, 20, 30))
            scale = r.choice((0, 2, 4)) if precision > 4 else 0
            return A.Column(name, f"DECIMAL({precision},{scale})", A.T("decimal"), nullable)
        if kind == "real":
            return A.Column(name, r.choice(("DOUBLE", "DOUBLE", "FLOAT")), A.T("real"), nullable)
        if kind == "str":
            collation = r.choice(self.dialect.collations)
            charset = collation.split("_", 1)[0]
            base = r.choice(("VARCHAR(10)", "CHAR(5)", "TEXT"))
            return A.Column(name, f"{base} CHARACTER SET {charset} COLLATE {collation}", A.T("str", False, collation),
                            nullable)
        sql = {"date": "DATE", "datetime": "DATETIME", "time": "TIME"}[kind]
        return A.Column(name, sql, A.T(kind), nullable)

    def create_table(self) -> A.CreateTable:
        r = self.rng
        name = f"t{len(self.tables)}"
        columns = tuple(self.column_type(f"c{i}") for i in range(r.randint(2, 6)))
        pk: tuple[str, ...] = ()
        clustering = ""
        keyable = [c for c in columns if not c.sql_type.startswith("TEXT")]
        if keyable and r.random() < 0.6:
            pk = tuple(c.name for c in r.sample(keyable, min(len(keyable), r.choice((1, 1, 2)))))
            columns = tuple(replace(c, nullable=False) if c.name in pk else c for c in columns)
            if self.dialect.clustered_keys:
                clustering = r.choice(("CLUSTERED", "NONCLUSTERED", ""))
        indexes = tuple(self.index(columns, unique=r.random() < 0.2) for _ in range(r.randint(0, 2)))
        table = A.Table(name, columns, pk, clustering, indexes)
        self.tables.append(table)
        return A.CreateTable(table)

    def index(self, columns: Sequence[A.Column], *, unique: bool = False) -> A.Index:
        r = self.rng
        chosen = r.sample(list(columns), min(len(columns), r.choice((1, 1, 2, 3))))
        parts = []
        for c in chosen:
            prefix = None
            if c.type.family == "str" and (c.sql_type.startswith("TEXT") or r.random() < 0.3):
                prefix = r.choice((1, 2, 3))
            parts.append((c.name, prefix))
        return A.Index(self._name("i"), tuple(parts), unique)

    def insert(self, table: A.Table, rows: int | None = None) -> A.Insert:
        r = self.rng
        count = rows if rows is not None else r.randint(1, 4)
        values = tuple(tuple("NULL" if c.nullable and r.random() < 0.15 else self.literal(c.type, c)
                             for c in table.columns) for _ in range(count))
        # IGNORE: a duplicate key or an edge value out of a column's range is skipped, so the table's content
        # does not depend on which of a multi-row INSERT's rows fail.
        return A.Insert(table.name, tuple(c.name for c in table.columns), values, ignore=True)

    def setup(self) -> list[A.Statement]:
        """A new round's schema and data: 1-3 tables with rows, maybe a view."""
        self.tables, self.views = [], []
        out: list[A.Statement] = []
        for _ in range(self.rng.choice((1, 2, 2, 3))):
            create = self.create_table()
            out.append(create)
            for _ in range(self.rng.randint(1, 4)):
                out.append(self.insert(create.table))
        if self.rng.random() < 0.3:
            out.append(self.create_view())
        return out

    def create_view(self) -> A.CreateView:
        table = self.rng.choice(self.tables)
        ref = A.TableRef(table.name, table.name)
        cols = [A.Col(table.name, c.name, c.type) for c in table.columns]
        chosen = self.rng.sample(cols, self.rng.randint(1, len(cols)))
        scope = Scope(cols, subqueries=False)
        where = self.predicate(scope) if self.rng.random() < 0.6 else None
        # DISTINCT over strings would make the view's rows the server's choice among equal strings (see case()).
        distinct = self.rng.random() < 0.2 and all(c.type.family != "str" for c in chosen)
        q = A.Select(tuple(A.Item(c, f"w{i}") for i, c in enumerate(chosen)), ref, where=where, distinct=distinct)
        view = A.CreateView(f"v{len(self.views)}", q, tuple((f"w{i}", c.type) for i, c in enumerate(chosen)))
        self.views.append(view)
        return view

    def between_queries(self, rate: float = 0.25) -> A.Statement | None:
        """Maybe (with probability `rate`) a statement that changes data, indexes, statistics or the session
        (which changes plans)."""
        r = self.rng
        roll = r.random()
        if roll > rate or not self.tables:
            return None
        table = r.choice(self.tables)
        scope = Scope([A.Col(table.name, c.name, c.type) for c in table.columns], subqueries=False)
        pick = r.random()
        if pick < 0.35:
            return self.insert(table)
        if pick < 0.5:
            column = r.choice(table.columns)
            value: A.Expr = A.Const("NULL" if column.nullable and r.random() < 0.2 else
                                    self.literal(column.type, column), column.type)
            return A.Update(table.name, ((column.name, value),), self.predicate(scope))
        if pick < 0.6:
            return A.Delete(table.name, self.predicate(scope))
        if pick < 0.72:
            return A.Analyze(table.name)
        if pick < 0.84:
            index = self.index(table.columns)
            self._replace_table(replace(table, indexes=(*table.indexes, index)))
            return A.CreateIndex(table.name, index)
        if pick < 0.9 and table.indexes:
            dropped = r.choice(table.indexes)
            self._replace_table(replace(table, indexes=tuple(i for i in table.indexes if i != dropped)))
            return A.DropIndex(table.name, dropped.name)
        if self.switches:
            name, values = r.choice(self.switches)
            return A.SetSession(name, r.choice(values))
        return A.Analyze(table.name)

    def _replace_table(self, table: A.Table) -> None:
        self.tables = [table if t.name == table.name else t for t in self.tables]

    # ------------------------------------------------------------------ expressions

    def expr(self, t: A.T, scope: Scope) -> A.Expr:
        """An expression of type family `t.family` (for strings: of collation `t.collation`, or literal-only
        when it is "")."""
        r = self.rng
        f = t.family
        if f == "bool":
            return self.predicate(scope)
        leaf = scope.depth >= self.max_depth or r.random() < 0.35
        if leaf:
            cols = [c for c in scope.columns if _fits(c.type, t)]
            if cols and r.random() < 0.8:
                return r.choice(cols)
            return A.Const(self.literal(t), t)
        inner = scope.deeper()
        if f == "int":
            return self._int(inner, t)
        if f == "decimal":
            return self._decimal(inner)
        if f == "real":
            return self._real(inner)
        if f == "str":
            return self._str(inner, t)
        if f in ("date", "datetime"):
            return self._date(inner, t)
        cols = [c for c in scope.columns if _fits(c.type, t)]
        if cols and r.random() < 0.7:
            return r.choice(cols)
        return A.Const(self.literal(t), t)

    def _numeric(self, scope: Scope) -> A.Expr:
        return self.expr(A.T(self.rng.choice(("int", "int", "decimal", "real"))), scope)

    def _int(self, scope: Scope, t: A.T) -> A.Expr:
        r = self.rng
        it = A.T("int")
        pick = r.randrange(14)
        if pick == 0:
            return A.Op("binary", r.choice(("+", "-", "*")), (self.expr(it, scope), self.expr(it, scope)), it)
        if pick == 1:
            return A.Op("binary", r.choice(("DIV", "%")), (self.expr(it, scope), self.expr(it, scope)), it)
        if pick == 2:
            return A.Op("binary", r.choice(("&", "|", "^", "<<", ">>")), (self.expr(it, scope),
                                                                          A.Const(str(r.randint(0, 5)), it)),
                        A.T("int", True))
        if pick == 3:
            return A.Op("prefix", r.choice(("-", "~")), (self.expr(it, scope),), it)
        if pick == 4:
            return A.Op("func", r.choice(("ABS", "SIGN")), (self._numeric(scope),), it)
        if pick == 5:
            return A.Op("func", r.choice(("LENGTH", "CHAR_LENGTH", "ASCII")), (self._any_str(scope),), it)
        if pick == 6:
            d = A.T("date")
            return A.Op("func", r.choice(("YEAR", "MONTH", "DAYOFMONTH")), (self.expr(d, scope),), it)
        if pick == 7:
            return A.Cast(self._numeric(scope), r.choice(("SIGNED", "UNSIGNED")), A.T("int", False))
        if pick == 8:
            return A.Op("func", r.choice(("FLOOR", "CEIL", "ROUND")), (self.expr(A.T("decimal"), scope),), it)
        if pick == 9:
            return A.Op("func", "IF", (self.predicate(scope), self.expr(it, scope), self.expr(it, scope)), it)
        if pick == 10:
            return A.Op("func", r.choice(("IFNULL", "NULLIF", "COALESCE")),
                        (self.expr(it, scope), self.expr(it, scope)), it)
        if pick == 11:
            return A.Case(((self.predicate(scope), self.expr(it, scope)),), self.expr(it, scope)
                          if r.random() < 0.7 else None, it)
        if pick == 12 and scope.subqueries:
            return self._scalar(scope, it)
        if pick == 13:
            return A.Op("func", "DATEDIFF", (self.expr(A.T("date"), scope), self.expr(A.T("date"), scope)), it)
        return self.predicate(scope)

    def _decimal(self, scope: Scope) -> A.Expr:
        r = self.rng
        d = A.T("decimal")
        pick = r.randrange(6)
        num = (self.expr(d, scope), self.expr(r.choice((d, A.T("int"))), scope))
        if pick == 0:
            return A.Op("binary", r.choice(("+", "-", "*")), num, d)
        if pick == 1:
            return A.Op("binary", "/", num, d)
        if pick == 2:
            return A.Op("func", r.choice(("ROUND", "TRUNCATE")), (self.expr(d, scope), A.Const(str(r.randint(0, 2)),
                                                                                            A.T("int"))), d)
        if pick == 3:
            return A.Op("func", "ABS", (self.expr(d, scope),), d)
        if pick == 4:
            return A.Cast(self._numeric(scope), "DECIMAL(20,4)", d)
        return A.Op("func", "COALESCE", num, d)

    def _real(self, scope: Scope) -> A.Expr:
        r = self.rng
        f = A.T("real")
        pick = r.randrange(4)
        if pick == 0:
            return A.Op("binary", r.choice(("+", "-", "*", "/")), (self.expr(f, scope), self._numeric(scope)), f)
        if pick == 1:
            return A.Op("func", "ABS", (self.expr(f, scope),), f)
        if pick == 2:
            return A.Cast(self._numeric(scope), "DOUBLE", f)
        return A.Op("func", "IFNULL", (self.expr(f, scope), self.expr(f, scope)), f)

    def _any_str(self, scope: Scope) -> A.Expr:
        colls = sorted({c.type.collation for c in scope.columns if c.type.family == "str"})
        coll = self.rng.choice(colls) if colls and self.rng.random() < 0.8 else ""
        return self.expr(A.T("str", False, coll), scope)

    def _str(self, scope: Scope, t: A.T) -> A.Expr:
        r = self.rng
        pick = r.randrange(7)
        if pick == 0:
            return A.Op("func", "CONCAT", (self.expr(t, scope), self.expr(t, scope)), t)
        if pick == 1:
            return A.Op("func", r.choice(("UPPER", "LOWER", "TRIM", "LTRIM", "RTRIM", "REVERSE")),
                        (self.expr(t, scope),), t)
        if pick == 2:
            return A.Op("func", r.choice(("LEFT", "RIGHT")), (self.expr(t, scope), A.Const(str(r.randint(0, 3)),
                                                                                           A.T("int"))), t)
        if pick == 3:
            return A.Op("func", "SUBSTRING", (self.expr(t, scope), A.Const(str(r.randint(1, 3)), A.T("int")),
                                              A.Const(str(r.randint(0, 3)), A.T("int"))), t)
        if pick == 4:
            return A.Op("func", "REPLACE", (self.expr(t, scope), A.Const("'a'", A.T("str")),
                                            A.Const(r.choice(("'b'", "''", "'A'")), A.T("str"))), t)
        if pick == 5:
            return A.Op("func", r.choice(("IFNULL", "COALESCE")), (self.expr(t, scope), self.expr(t, scope)), t)
        return A.Op("func", "LPAD", (self.expr(t, scope), A.Const(str(r.randint(0, 6)), A.T("int")),
                                     A.Const("'x'", A.T("str"))), t)

    def _date(self, scope: Scope, t: A.T) -> A.Expr:
        r = self.rng
        if t.family == "date" and r.random() < 0.4:
            dt = [c for c in scope.columns if c.type.family == "datetime"]
            if dt:
                return A.Op("func", "DATE", (r.choice(dt),), t)
        unit = "DAY" if t.family == "date" else r.choice(("DAY", "HOUR", "SECOND"))
        return A.Op("func", r.choice(("DATE_ADD", "DATE_SUB")),
                    (self.expr(t, scope), A.Const(f"INTERVAL {r.randint(0, 40)} {unit}", A.T("int"))), t)

    def _scalar(self, scope: Scope, t: A.T) -> A.Expr:
        """(SELECT MAX(s.c) FROM t AS s WHERE ...): one row, always."""
        r = self.rng
        table = r.choice(self.tables)
        alias = self._name("s")
        cols = [A.Col(alias, c.name, c.type) for c in table.columns]
        numeric = [c for c in cols if c.type.family == "int"]
        arg: A.Expr | None = r.choice(numeric) if numeric else None
        agg = A.Agg(r.choice(("MAX", "MIN", "COUNT")) if arg is not None else "COUNT", arg, t)
        inner = Scope(cols + scope.columns, subqueries=False, depth=scope.depth + 1)
        where = self.predicate(inner) if r.random() < 0.7 else None
        return A.Scalar(A.Select((A.Item(agg, "x"),), A.TableRef(table.name, alias), where=where), t)

    def predicate(self, scope: Scope) -> A.Expr:
        r = self.rng
        b = A.T("bool")
        deep = scope.depth >= self.max_depth
        inner = scope.deeper()
        pick = r.randrange(12) if not deep else r.choice((0, 0, 1, 2))
        if pick in (0, 5):
            left_t, right_t = self._comparable(scope)
            op = r.choice(("=", "<>", "<", "<=", ">", ">=", "<=>"))
            return A.Op("binary", op, (self.expr(left_t, inner), self.expr(right_t, inner)), b)
        if pick == 1:
            t = self._any_type(scope)
            return A.Op("postfix", r.choice(("IS NULL", "IS NOT NULL")), (self.expr(t, inner),), b)
        if pick == 2:
            ints = [c for c in scope.columns if c.type.family == "int"]
            if ints:
                return r.choice(ints)  # an integer as a condition: its truth
            return A.Const(r.choice(("0", "1", "NULL")), b)
        if pick == 3:
            return A.Op("binary", r.choice(("AND", "OR", "XOR")), (self.predicate(inner), self.predicate(inner)), b)
        if pick == 4:
            return A.Op("prefix", "NOT", (self.predicate(inner),), b)
        if pick == 6:
            return A.Op("postfix", r.choice(("IS TRUE", "IS FALSE", "IS NOT TRUE", "IS NOT FALSE")),
                        (self.predicate(inner),), b)
        if pick == 7:
            left_t, right_t = self._comparable(scope)
            return A.Between(self.expr(left_t, inner), self.expr(right_t, inner), self.expr(right_t, inner),
                             r.random() < 0.3)
        if pick == 8:
            left_t, right_t = self._comparable(scope)
            items = tuple(self.expr(right_t, inner) for _ in range(r.randint(1, 3)))
            return A.InList(self.expr(left_t, inner), items, r.random() < 0.3)
        if pick == 9:
            s = self._any_str(inner)
            if r.random() < 0.6:
                return A.Op("binary", "NOT LIKE" if r.random() < 0.2 else "LIKE",
                            (s, A.Const(r.choice(LIKE_PATTERNS), A.T("str"))), b)
            return A.Op("binary", "REGEXP", (s, A.Const(r.choice(REGEXPS), A.T("str"))), b)
        if pick in (10, 11) and scope.subqueries and self.tables:
            return self._subquery_predicate(inner, exists=pick == 10)
        return A.Op("binary", "=", (self._numeric(inner), self._numeric(inner)), b)

    def _subquery_predicate(self, scope: Scope, *, exists: bool) -> A.Expr:
        r = self.rng
        table = r.choice(self.tables)
        alias = self._name("s")
        cols = [A.Col(alias, c.name, c.type) for c in table.columns]
        inner = Scope(cols + scope.columns, subqueries=False, depth=scope.depth)
        where = self.predicate(inner) if r.random() < 0.8 else None
        if exists:
            q = A.Select((A.Item(A.Const("1", A.T("int")), "x"),), A.TableRef(table.name, alias), where=where)
            return A.Exists(q, r.random() < 0.3)
        target = r.choice(cols)
        left_t = target.type
        q = A.Select((A.Item(target, "x"),), A.TableRef(table.name, alias), where=where)
        outer = Scope(scope.columns, scope.aggregates, False, scope.depth)
        return A.InQuery(self.expr(left_t, outer), q, r.random() < 0.3)

    def _comparable(self, scope: Scope) -> tuple[A.T, A.T]:
        """Two types that compare without a collation mix: numbers with numbers, a string with a string of the
        same collation (or a literal), dates with dates, times with times."""
        t = self._any_type(scope)
        if t.family in ("int", "decimal", "real"):
            return t, A.T(self.rng.choice(("int", "decimal", "real", t.family, t.family)))
        if t.family == "str":
            return t, A.T("str", False, t.collation if self.rng.random() < 0.6 else "")
        if t.family in ("date", "datetime"):
            return t, A.T(self.rng.choice(("date", "datetime", t.family)))
        return t, t

    def _any_type(self, scope: Scope) -> A.T:
        if scope.columns and self.rng.random() < 0.85:
            return _base(self.rng.choice(scope.columns).type)
        return A.T(self.rng.choice(("int", "decimal", "real", "str", "date")))

    # ------------------------------------------------------------------ queries

    def case(self, upto: str = "query") -> A.Case_:
        """One query case: its sources, a base SELECT, a predicate, group-by columns, a HAVING condition, an
        aggregate, and a whole query for the plans oracle, drawn in that order up to the part `upto` (one of
        ast.CASE_PARTS: the oracles chosen may read no more; NoREC and TLP WHERE read only the base and the
        predicate, and the rest was half of a case's cost). The parts not drawn are left empty, the whole query
        then being the base with its predicate. All parts drawn, the same seed gives the same cases as before
        `upto` was there."""
        r = self.rng
        sources: list[tuple[A.Source, list[A.Col]]] = []
        with_: tuple[str, A.Query] | None = None
        for i in range(r.choice((1, 1, 2, 2, 3))):
            alias = f"a{i}"
            roll = r.random()
            if roll < 0.1 and self.views:
                view = r.choice(self.views)
                sources.append((A.TableRef(view.name, alias), [A.Col(alias, n, t) for n, t in view.columns]))
            elif roll < 0.17 and i == 0:
                table = r.choice(self.tables)
                cols = [A.Col(table.name, c.name, c.type) for c in table.columns]
                inner = A.Select(tuple(A.Item(c, c.name) for c in cols), A.TableRef(table.name, table.name),
                                 where=self.predicate(Scope(cols, subqueries=False)))
                query: A.Query = inner
                if r.random() < 0.4:
                    strings = any(c.type.family == "str" for c in cols)
                    query = A.SetOp(inner, A.evolve(inner, where=self.predicate(Scope(cols, subqueries=False))),
                                    "UNION ALL" if strings else r.choice(("UNION", "UNION ALL")))
                shape = tuple((c.name, c.type) for c in cols)
                if r.random() < 0.5:
                    with_ = ("cte0", query)
                    sources.append((A.TableRef("cte0", alias), [A.Col(alias, n, t) for n, t in shape]))
                else:
                    sources.append((A.Derived(query, alias, shape), [A.Col(alias, n, t) for n, t in shape]))
            else:
                table = r.choice(self.tables)
                sources.append((A.TableRef(table.name, alias), [A.Col(alias, c.name, c.type) for c in table.columns]))
        columns = [c for _, cols in sources for c in cols]
        joins = []
        in_scope = list(sources[0][1])
        for source, cols in sources[1:]:
            in_scope += cols
            kind = r.choice(self.dialect.joins)
            on = None if kind == "CROSS JOIN" else self.predicate(Scope(in_scope, subqueries=False, depth=1))
            if kind == "STRAIGHT_JOIN" and r.random() < 0.5:
                on = None
            joins.append(A.Join(kind, source, on))
        scope = Scope(columns)
        picked = r.sample(columns, r.randint(1, min(4, len(columns))))
        items = [A.Item(c, f"r{i}") for i, c in enumerate(picked)]
        if r.random() < 0.3:
            t = self._any_type(scope)
            items.append(A.Item(self.expr(t, Scope(scope.columns, scope.aggregates, False, 1)), f"r{len(items)}"))
        base = A.Select(tuple(items), sources[0][0], tuple(joins))
        predicate = self.predicate(scope)
        indexes = []
        for source, _ in sources:
            if isinstance(source, A.TableRef):
                table_ = next((t for t in self.tables if t.name == source.name), None)
                if table_ is not None:
                    indexes += [(source.alias, i.name) for i in table_.indexes]
        if upto == "predicate":
            return self._partial(base, predicate, with_, tuple(indexes))
        group_by = tuple(r.sample(columns, r.randint(1, min(2, len(columns)))))
        exact = [c for c in columns if c.type.family in ("int", "decimal")]
        # Only non-string group columns: a group of strings equal under the collation ('A', 'a ') shows one of
        # them, which one is the server's choice, and a condition that tells them apart (LIKE, LENGTH) would
        # then keep or drop the group by that choice.
        having_scope = Scope([g for g in group_by if g.type.family != "str"], subqueries=False, depth=1)
        having = self.predicate(having_scope)
        if exact and r.random() < 0.6:
            agg = A.Agg(r.choice(("SUM", "COUNT", "MIN", "MAX")), r.choice(exact), A.T("decimal"))
            having = A.Op("binary", r.choice(("<", ">", "=", ">=")), (agg, A.Const(self.literal(A.T("int")),
                                                                                   A.T("int"))), A.T("bool"))
        if upto == "grouping":
            return self._partial(base, predicate, with_, tuple(indexes), group_by=group_by, having=having)
        numeric = [c for c in columns if c.type.family in ("int", "decimal", "real")]
        func = r.choice(("MIN", "MAX", "SUM", "COUNT", "AVG", "COUNT(*)"))
        aggregate: A.Agg
        if func == "COUNT(*)":
            aggregate = A.Agg("COUNT", None, A.T("int"))
        elif func in ("SUM", "AVG"):
            aggregate = A.Agg(func, r.choice(numeric), A.T("decimal")) if numeric else A.Agg("COUNT", None, A.T("int"))
        else:
            arg = r.choice(columns)
            aggregate = A.Agg(func, arg, arg.type, distinct=func == "COUNT" and r.random() < 0.3)
        if upto == "aggregate":
            return self._partial(base, predicate, with_, tuple(indexes), group_by=group_by, having=having,
                                 aggregate=aggregate)
        query = self._whole(base, predicate, group_by, having, aggregate)
        if with_ is not None:
            query = A.With(with_[0], with_[1], query)
        return A.Case_(base, predicate, query, aggregate, group_by, having, tuple(indexes), with_)

    @staticmethod
    def _partial(base: A.Select, predicate: A.Expr, with_: tuple[str, A.Query] | None,
                 indexes: tuple[tuple[str, str], ...], *, group_by: tuple[A.Expr, ...] = (),
                 having: A.Expr | None = None, aggregate: A.Agg | None = None) -> A.Case_:
        query: A.Query = A.evolve(base, where=predicate)
        if with_ is not None:
            query = A.With(with_[0], with_[1], query)
        return A.Case_(base, predicate, query, aggregate, group_by, having, indexes, with_)

    def _whole(self, base: A.Select, predicate: A.Expr, group_by: tuple[A.Expr, ...], having: A.Expr,
               aggregate: A.Agg) -> A.Query:
        r = self.rng
        pick = r.random()
        if pick < 0.4:
            return A.evolve(base, where=predicate, distinct=r.random() < 0.3)
        if pick < 0.7:
            items = (*tuple(A.Item(g, f"g{i}") for i, g in enumerate(group_by)), A.Item(aggregate, "agg"))
            return A.evolve(base, items=items, where=predicate if r.random() < 0.6 else None, group_by=group_by,
                           having=having if r.random() < 0.5 else None)
        if pick < 0.85:
            return A.evolve(base, items=(A.Item(aggregate, "agg"),), where=predicate)
        left = A.evolve(base, where=predicate)
        right = A.evolve(base, where=A.Op("prefix", "NOT", (predicate,), A.T("bool")))
        return A.SetOp(left, right, r.choice(("UNION", "UNION ALL")))


def _base(t: A.T) -> A.T:
    return A.T(t.family, False, t.collation) if t.family != "bool" else A.T("int")


def _fits(column: A.T, wanted: A.T) -> bool:
    if wanted.family == "str":
        return column.family == "str" and column.collation == wanted.collation and wanted.collation != ""
    if wanted.family == "int":
        return column.family in ("int", "bool")
    return column.family == wanted.family


def _decimal_shape(sql_type: str) -> tuple[int, int]:
    inside = sql_type[sql_type.index("(") + 1:sql_type.index(")")]
    p, s = inside.split(",")
    return int(p), int(s)


def _str_length(sql_type: str) -> int:
    if sql_type.startswith("TEXT"):
        return 10
    return int(sql_type[sql_type.index("(") + 1:sql_type.index(")")])
