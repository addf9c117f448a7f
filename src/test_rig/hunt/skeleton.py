"""The skeleton of a reduced query, and its cause: the SQL text with everything that differs between two finds of
one bug abstracted away, so that a signature built on it groups them (see finding.signature).

It reads the text (not the AST) because `--known` re-signs old reduced `.sql` files, which hold only text; the
renderer parenthesises every operand, so the text's parentheses are the tree and a small tokenizer of our own
reads it (sqlglot would have been a dependency to parse text only we write).

`skeleton` (for an oracle `cause` does not know) abstracts, and why:
- constants become `?`, columns `c`, tables and aliases vanish: they are the data and names the generator
  happened to choose, which the signature leaves out as it leaves out the rows;
- a derived table or CTE that only projects one table's columns (with or without a filter), or a union of such,
  stands for a table: the rows its filter lets through are data too;
- join kinds and the number of tables vanish; an ON condition that reads a column stays (a join bug shows there);
- conditions and select items are kept four parentheses deep (an operator's operand is one, a function's
  argument two), what lies deeper is `_`: the reducer has removed what the difference does not need, and of
  what it could not remove, the top of a condition says which operator goes wrong, its depths are most often
  the incidental way the generator got there (one TiDB bug came with eight different correlated conditions
  inside its NOT IN subquery);
- a subquery inside a condition is `(SUBQUERY)`, or `(SUBQUERY correlated)` when it reads an outer column;
- plan hints keep their names, `SET STATEMENT … FOR` its text (switch and value), `CAST` its target type's name.

`cause` goes further, to what one cause has in common however it was found (its docstring says what and why):
the conditions of WHERE, HAVING and ON as one set, each comparison as its operator class and its operands'
types (a column's read from the CREATE statements, with its index role), a constant as its type, not the
expression that computes it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Union

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^'\\]|''|\\.)*')
  | (?P<hint>/\*\+.*?\*/)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<word>`[^`]*`|[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_`][A-Za-z_0-9`]*)?)
  | (?P<symbol><=>|<>|!=|<=|>=|<<|>>|&&|\|\||[=<>+\-*/%&|^~!,;()])
)""", re.X | re.S)

Node = Union[str, "Group"]

#: how many parentheses of a condition or select item are kept
DEPTH = 4
_TYPED_LITERAL = {"DATE": "date", "TIME": "time", "TIMESTAMP": "datetime"}
_CONSTANT_WORDS = frozenset({"NULL", "TRUE", "FALSE"})
_CLAUSES = ("SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "WINDOW")
#: a column of a table (c0, c1, ...) or of a view (w0, w1, ...)
_COLUMN = re.compile(r"^(?:`?\w+`?\.)?`?[cw]\d+`?$")


class Group(list[Node]):
    """The tokens between one pair of parentheses."""


def tokens(sql: str, *, typed: bool = False) -> list[str]:
    """The SQL's tokens; literals are `?` already (a typed literal such as DATE '…' too, a signed number too), or
    with `typed` a `?` with the literal's type family (`?int`, `?uint` above the signed range, `?decimal`, `?real`
    for an exponent, `?str`, `?date`, `?datetime`, `?time`, `?null`): the type of a constant is what a server's
    comparison or conversion of it depends on, its value is data."""
    out: list[str] = []
    pos = 0
    sql = sql.strip().rstrip(";")
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            if sql[pos:].strip() == "":
                break
            out.append(sql[pos])  # an unexpected character stays as itself
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup
        text = m.group(kind or 0)
        if kind in ("string", "number"):
            if out and out[-1] in _TYPED_LITERAL:
                out[-1] = "?" + _TYPED_LITERAL[out[-1]] if typed else "?"
                continue
            literal = "?" + _literal_family(kind, text) if typed else "?"
            if kind == "number" and out and out[-1] == "-" and (len(out) == 1 or out[-2] in ("(", ",")):
                out[-1] = literal
                continue
            out.append(literal)
        elif kind == "word" and text.upper() in _CONSTANT_WORDS and not (out and out[-1] in ("IS", "NOT")):
            # NULL, TRUE, FALSE are constants, except in IS [NOT] NULL/TRUE/FALSE
            out.append(("?null" if text.upper() == "NULL" else "?int") if typed else "?")
        elif kind == "word" and "." not in text and not _COLUMN.match(text):
            out.append(text.upper() if text.isupper() or text.upper() in _KEYWORDS else text)
        else:
            out.append(text)
    return out


def _literal_family(kind: str | None, text: str) -> str:
    if kind == "string":
        return "str"
    if "e" in text.lower():
        return "real"
    if "." in text:
        return "decimal"
    return "uint" if int(text) > 2**63 - 1 else "int"


_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "AS", "ON", "UNION", "ALL",
                       "DISTINCT", "WITH", "SET", "STATEMENT", "FOR", "AND", "OR", "NOT", "IN", "IS", "EXISTS"})


def tree(toks: list[str]) -> Group:
    """Tokens nested by their parentheses (an unbalanced text is closed at its end)."""
    stack: list[Group] = [Group()]
    for t in toks:
        if t == "(":
            g = Group()
            stack[-1].append(g)
            stack.append(g)
        elif t == ")":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].append(t)
    return stack[0]


def flat(nodes: list[Node]) -> str:
    return " ".join(f"( {flat(n)} )" if isinstance(n, Group) else n for n in nodes)


_SET_STATEMENT = re.compile(r"^\s*SET STATEMENT (.*?) FOR ", re.S)


def skeleton(sql: str) -> str:
    """The skeleton of one query (or statement) as text; see the module's docstring for what it keeps."""
    m = _SET_STATEMENT.match(sql)
    if m is not None:  # the plan variant of a MariaDB plans finding: its switch and value are what differs
        return f"SET STATEMENT {m.group(1)} FOR " + skeleton(sql[m.end():])
    return _statement(tree(tokens(sql)))


def _starts_query(g: Node) -> bool:
    if not isinstance(g, Group) or not g:
        return False
    head = g[0]
    return head in ("SELECT", "WITH") or (isinstance(head, Group) and _starts_query(head))


def _ctes(seq: list[Node], i: int) -> tuple[list[str], int]:
    """The common table expressions `name AS (body), ...` from seq[i] on (just after WITH), each body that is not a
    plain table as `WITH ( skeleton )`, and the position after them."""
    out: list[str] = []
    while i + 2 < len(seq) and seq[i + 1] == "AS" and isinstance(seq[i + 2], Group):
        body = seq[i + 2]
        assert isinstance(body, Group)
        if not _is_table(body):
            out.append(f"WITH ( {_statement(body)} )")
        i += 3
        if i < len(seq) and seq[i] == ",":
            i += 1
    return out, i


def _statement(seq: list[Node]) -> str:
    out: list[str] = []
    i = 0
    while i < len(seq):
        node = seq[i]
        if node == "WITH":
            ctes, i = _ctes(seq, i + 1)
            out += ctes
            continue
        if isinstance(node, Group):
            out.append(f"( {_statement(node)} )")
            i += 1
            continue
        if node == "SELECT":
            j = i + 1
            while j < len(seq) and seq[j] != "UNION":
                j += 1
            out.append(_select(seq[i:j]))
            i = j
            continue
        out.append(node)  # UNION, ALL, DISTINCT between branches, or what we do not know
        i += 1
    return " ".join(out)


def _clauses(seq: list[Node]) -> list[tuple[str, list[Node]]]:
    parts: list[tuple[str, list[Node]]] = []
    for i, node in enumerate(seq):
        if isinstance(node, str) and node in _CLAUSES and not (node == "ORDER" and i == 0):
            parts.append((node, []))
        elif parts:
            parts[-1][1].append(node)
    return parts


def _select(seq: list[Node]) -> str:
    out: list[str] = []
    for clause, body in _clauses(seq):
        if clause == "SELECT":
            hint = ""
            if body and isinstance(body[0], str) and body[0].startswith("/*+"):
                hint = "/*+ " + " ".join(sorted(set(re.findall(r"([A-Z_]+)\s*\(", body[0])))) + " */ "
                body = body[1:]
            distinct = ""
            if body and body[0] == "DISTINCT":
                distinct, body = "DISTINCT ", body[1:]
            out.append(f"SELECT {hint}{distinct}" + ", ".join(_expr(_unaliased(item), DEPTH)
                                                            for item in _split(body)))
        elif clause == "FROM":
            out.append("FROM " + _source(body))
        elif clause in ("WHERE", "HAVING"):
            out.append(f"{clause} " + _expr(body, DEPTH))
        elif clause in ("GROUP", "ORDER"):
            out.append(f"{clause} BY " + ", ".join(_expr(item, DEPTH) for item in _split(body[1:])))
        else:
            out.append(clause + " " + flat(body))
    return " ".join(out)


def _split(body: list[Node]) -> list[list[Node]]:
    items: list[list[Node]] = [[]]
    for node in body:
        if node == ",":
            items.append([])
        else:
            items[-1].append(node)
    return [i for i in items if i]


def _unaliased(item: list[Node]) -> list[Node]:
    return item[:-2] if len(item) >= 2 and item[-2] == "AS" else item


def _is_table(body: Group) -> bool:
    """A derived table or CTE that only projects one table's columns, perhaps filtered, or a union of such: it
    stands for a table (a union of two filtered copies of one table is rows, as one filter's are)."""
    if body and isinstance(body[0], Group):  # `(SELECT …) UNION [ALL] (SELECT …)`
        return all(_is_table(n) if isinstance(n, Group) else n in ("UNION", "ALL", "DISTINCT") for n in body)
    if not body or body[0] != "SELECT":
        return False
    parts = _clauses(body)
    names = [c for c, _ in parts]
    if names not in (["SELECT", "FROM"], ["SELECT", "FROM", "WHERE"]):
        return False
    items = _split(parts[0][1])
    plain = all(len(_unaliased(i)) == 1 and isinstance(_unaliased(i)[0], str) and _COLUMN.match(str(_unaliased(i)[0]))
                for i in items)
    source = [n for n in parts[1][1] if n != "AS"]
    return plain and len(source) <= 2 and all(isinstance(n, str) for n in source)


def _source(body: list[Node]) -> str:
    """FROM …: the tables vanish, a derived table that is more than a table, the index hints and each ON condition
    that reads a column stay (sorted, each once: the order and number of joins are the generator's choice)."""
    kept, on = _sources(body)
    joins = {"JOIN ON " + condition for condition in (_expr([node], DEPTH) for node in on)
             if re.search(r"\bc\b|SUBQUERY", condition)}
    return " ".join(["t", *sorted({*kept, *joins})])


def _expr(seq: list[Node], budget: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(seq):
        node = seq[i]
        if isinstance(node, Group):
            if _starts_query(node):
                out.append("(SUBQUERY correlated)" if _correlated(node) else "(SUBQUERY)")
            elif budget <= 0:
                out.append("_")
            else:
                out.append(f"({_expr(node, budget - 1)})")
        elif node == "AS" and i + 1 < len(seq) and isinstance(seq[i + 1], str):  # CAST(x AS TYPE(p, s))
            out.append(f"AS {str(seq[i + 1]).upper()}")
            i += 2 if i + 2 < len(seq) and isinstance(seq[i + 2], Group) else 1
        elif "." in node or _COLUMN.match(node):
            out.append("c")
        else:
            out.append(node)
        i += 1
    return " ".join(_ordered(out))


#: Comparisons whose two operands can change places: the symmetric ones as themselves, the others mirrored.
_SWAPPED = {"=": "=", "<=>": "<=>", "<>": "<>", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _ordered(parts: list[str]) -> list[str]:
    """A comparison of two operands with its operands in one order (`? = c` is `c = ?`, `? < c` is `c > ?`): which
    side the generator put a constant on is incidental, and one bug found both ways signed two ways."""
    if len(parts) == 3 and parts[1] in _SWAPPED and parts[0] < parts[2]:  # a column before a constant
        return [parts[2], _SWAPPED[parts[1]], parts[0]]
    return parts


def _correlated(query: Group) -> bool:
    """Whether a subquery reads a column of a table it does not name itself."""
    text = flat(query)
    own = set(re.findall(r"\bAS (\w+)", text)) | set(re.findall(r"\b(?:FROM|JOIN) (\w+)", text))
    return any(alias not in own for alias in re.findall(r"\b(\w+)\.`?[cw]\d+", text))


# --------------------------------------------------------------------------- what the statements declare

@dataclass(frozen=True)
class Column:
    """A column as a cause sees it: its type family (int, uint, decimal, real, str, date, datetime, time; "any"
    when unknown) and its role in the indexes: "key" when it leads an index, "prefix" when it leads an index on a
    prefix of it (a prefix index answers a lookup only in part, the K-pfx cause of the 10-minute runs), "" when no
    index starts with it (only a leading column can be looked up by a constant)."""

    family: str
    role: str = ""

    def __str__(self) -> str:
        return f"c:{self.family}" + (f":{self.role}" if self.role else "")


Relation = dict[str, Column]
_ANY = Column("any")
_FAMILIES = {"TINYINT": "int", "SMALLINT": "int", "MEDIUMINT": "int", "INT": "int", "INTEGER": "int",
             "BIGINT": "int", "BOOL": "int", "BOOLEAN": "int", "YEAR": "int", "DECIMAL": "decimal",
             "NUMERIC": "decimal", "FLOAT": "real", "DOUBLE": "real", "REAL": "real", "CHAR": "str",
             "VARCHAR": "str", "TEXT": "str", "TINYTEXT": "str", "MEDIUMTEXT": "str", "LONGTEXT": "str",
             "BINARY": "str", "VARBINARY": "str", "BLOB": "str", "ENUM": "str", "SET": "str", "DATE": "date",
             "DATETIME": "datetime", "TIMESTAMP": "datetime", "TIME": "time", "SIGNED": "int", "UNSIGNED": "uint"}


def schema(statements: list[str]) -> dict[str, Relation]:
    """Each table's and view's columns as the statements leave them (CREATE TABLE, CREATE and DROP INDEX,
    CREATE VIEW). A statement this does not read is left out: the column it would have typed is "any"."""
    families: dict[str, dict[str, str]] = {}
    indexes: dict[tuple[str, str], tuple[str, list[tuple[str, bool]]]] = {}  # (table, index) -> (table, parts)
    views: list[tuple[str, list[Node]]] = []
    for number, statement in enumerate(statements):
        seq = list(tree(tokens(statement)))
        words = [n for n in seq[:4] if isinstance(n, str)]
        if words[:2] == ["CREATE", "TABLE"] and len(seq) > 3 and isinstance(seq[3], Group):
            table = str(seq[2])
            families[table] = {}
            for key in [k for k in indexes if k[0] == table]:  # a table made again has only its new indexes
                del indexes[key]
            for k, item in enumerate(_split(list(seq[3]))):
                _table_item(table, item, families[table], indexes, f"{number}.{k}")
        elif words[:2] == ["CREATE", "INDEX"] or words[:3] == ["CREATE", "UNIQUE", "INDEX"]:
            at = seq.index("ON") if "ON" in seq else -1
            columns = seq[at + 2] if 0 < at < len(seq) - 2 else None
            if isinstance(columns, Group):
                indexes[(str(seq[at + 1]), str(seq[at - 1]))] = (str(seq[at + 1]), _index_parts(columns))
        elif words[:2] == ["DROP", "INDEX"] and len(seq) >= 5 and seq[3] == "ON":
            indexes.pop((str(seq[4]), str(seq[2])), None)
        elif words[:2] == ["CREATE", "VIEW"] and "AS" in seq:
            views.append((str(seq[2]), seq))
    roles: dict[tuple[str, str], str] = {}
    for table, parts in indexes.values():
        if parts:
            column, prefixed = parts[0]
            if prefixed or roles.get((table, column)) != "prefix":  # a prefix index is the rarer, telling role
                roles[(table, column)] = "prefix" if prefixed else "key"
    out = {table: {name: Column(family, roles.get((table, name), "")) for name, family in columns.items()}
           for table, columns in families.items()}
    for name, seq in views:  # CREATE VIEW v0 (w0, w1) AS SELECT t1.c1 AS w0, …: a view's column is what it projects
        body = seq[seq.index("AS") + 1:]
        rels = _relations(body, dict(out))
        projected = _projection(body, rels)
        listed = seq[3] if len(seq) > 3 and isinstance(seq[3], Group) else Group()
        names = [str(n) for n in listed if n != ","]
        out[name] = {n: projected.get(n, _ANY) for n in names} if names else projected
    return out


def _table_item(table: str, item: list[Node], columns: dict[str, str],
                indexes: dict[tuple[str, str], tuple[str, list[tuple[str, bool]]]], name: str) -> None:
    head = item[0]
    group = next((n for n in item if isinstance(n, Group)), None)
    if head in ("PRIMARY", "INDEX", "KEY", "UNIQUE"):
        if group is not None:
            indexes[(table, name)] = (table, _index_parts(group))
        return
    if not isinstance(head, str) or len(item) < 2 or not isinstance(item[1], str):
        return
    family = _FAMILIES.get(item[1].upper(), "any")
    if family == "int" and "UNSIGNED" in item:
        family = "uint"
    columns[head] = family
    if "PRIMARY" in item or "UNIQUE" in item:  # `c1 BIGINT NOT NULL PRIMARY KEY`
        indexes[(table, name)] = (table, [(head, False)])


def _index_parts(group: Group) -> list[tuple[str, bool]]:
    """An index's columns in order, each with whether only a prefix of it is indexed (`c3(2)`)."""
    return [(str(part[0]), any(isinstance(n, Group) for n in part[1:])) for part in _split(list(group))
            if isinstance(part[0], str)]


def _relations(seq: list[Node], known: dict[str, Relation]) -> dict[str, Relation]:
    """What each name in a query stands for: its tables and views by name, their aliases (`t0 AS a0`), each CTE
    and derived table by its name or alias, as the columns it projects."""
    rels = dict(known)

    def walk(nodes: list[Node]) -> None:
        for i, node in enumerate(nodes):
            if isinstance(node, Group):
                walk(node)
            named = i + 2 < len(nodes) and nodes[i + 1] == "AS"
            if not named:
                continue
            target = nodes[i + 2]
            if isinstance(node, str) and isinstance(target, str) and node in rels:
                rels[target] = rels[node]  # a table or view and its alias
            elif isinstance(node, str) and isinstance(target, Group) and _starts_query(target):
                walk(target)  # a CTE, `cte0 AS (SELECT …)`: its body's aliases first
                rels[node] = _projection(list(target), rels)
            elif isinstance(node, Group) and _starts_query(node) and isinstance(target, str):
                rels[target] = _projection(list(node), rels)  # a derived table, `(SELECT …) AS a0`

    walk(seq)
    return rels


def _projection(seq: list[Node], rels: dict[str, Relation]) -> Relation:
    """The columns a query projects (of a union: its first branch's), each named by its alias."""
    return {name: value.column or Column(value.family) for name, value in _items(seq, rels)}


def _items(seq: list[Node], rels: dict[str, Relation]) -> list[tuple[str, _Value]]:
    """The values a query selects (of a union: its first branch's), each with its alias ("" when it has none)."""
    while seq and isinstance(seq[0], Group):
        seq = list(seq[0])
    if not seq or seq[0] != "SELECT":
        return []
    out: list[tuple[str, _Value]] = []
    for clause, body in _clauses(seq):
        if clause == "SELECT":
            for item in _split([n for n in body if n != "DISTINCT"]):
                named = len(item) >= 3 and item[-2] == "AS" and isinstance(item[-1], str)
                out.append((str(item[-1]) if named else "", _parse(item[:-2] if named else item, rels)))
    return out


# --------------------------------------------------------------------------- a value and its type

@dataclass
class _Value:
    """One parsed expression: its operator ("const", "col", "query", a function's name, or an operator), its
    operands, its type family and whether it reads a column (or a subquery): what does not is a constant."""

    op: str
    args: list[_Value]
    family: str
    reads: bool
    column: Column | None = None
    query: Group | None = None


_COMPARISONS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">=", "<=>"})
#: a comparison that is the negation of another, as that NOT the other: `c <> ?` is NOT (c = ?), `c >= ?`
#: NOT (c < ?)
_NEGATED = {"<>": "=", "!=": "=", ">=": "<", "<=": ">"}
_LOGIC = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "XOR": "XOR"}
_BITS = frozenset({"|", "&", "^", "<<", ">>"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "DIV", "MOD"})
_MATCH = frozenset({"LIKE", "REGEXP", "RLIKE"})
_PREDICATES = _COMPARISONS | frozenset({"NOT", "AND", "OR", "XOR", "IN", "BETWEEN", "EXISTS", "IS NULL", "IS TRUE",
                                        "IS FALSE", "IS UNKNOWN"}) | _MATCH
_INT_FUNCTIONS = frozenset({"DATEDIFF", "YEAR", "MONTH", "DAY", "DAYOFMONTH", "LENGTH", "CHAR_LENGTH", "ASCII",
                            "SIGN", "LOCATE", "INSTR", "COUNT", "BIT_LENGTH", "OCTET_LENGTH"})
_STR_FUNCTIONS = frozenset({"CONCAT", "CONCAT_WS", "LEFT", "RIGHT", "LPAD", "RPAD", "SUBSTRING", "SUBSTR",
                            "REPLACE", "TRIM", "LTRIM", "RTRIM", "UPPER", "LOWER", "REVERSE", "REPEAT", "HEX"})
_REAL_FUNCTIONS = frozenset({"SQRT", "POW", "POWER", "EXP", "LN", "LOG", "LOG2", "LOG10", "SIN", "COS", "RAND"})
_NUMERIC = ("int", "uint", "decimal", "real")
_OPERATORS = _COMPARISONS | frozenset(_LOGIC) | _MATCH | _BITS | _ARITHMETIC | {"IS", "IN", "BETWEEN"}


def _merged(families: list[str]) -> str:
    """The type of a value that is one of several (IFNULL, COALESCE, CASE, IF): NULL takes the others' type;
    numbers the widest; a string with anything else is a string."""
    known = sorted({f for f in families if f not in ("null", "any")})
    if not known:
        return families[0] if families else "any"
    if len(known) == 1:
        return known[0]
    if all(f in _NUMERIC for f in known):
        return _arithmetic(known)
    if all(f in ("date", "datetime") for f in known):
        return "datetime"
    return "str"


def _arithmetic(families: list[str]) -> str:
    """The type of + - * over operands of these types: a float makes a float, a DECIMAL a DECIMAL, an unsigned
    operand an unsigned result (MariaDB's and MySQL's rule); a string or a temporal value counts as a number."""
    if any(f in ("real", "str") for f in families):
        return "real"
    if any(f in ("decimal", "datetime", "time") for f in families):
        return "decimal"
    return "uint" if "uint" in families else "int"


def _parse(seq: list[Node], rels: dict[str, Relation]) -> _Value:
    """The value of one expression as the renderer writes it (every operand parenthesised, so one operator a
    level), with a column's type and index role read from `rels`."""
    if len(seq) == 1:
        node = seq[0]
        if isinstance(node, Group):
            if _starts_query(node):  # a subquery, as the first value it selects
                items = _items(list(node), _relations(list(node), rels))
                first = items[0][1] if items else _Value("const", [], "any", False)
                return _Value("query", [first], first.family, True, query=node)
            return _parse(list(node), rels)
        if node.startswith("?"):
            return _Value("const", [], node[1:] or "any", False)
        if "." in node or _COLUMN.match(node):
            alias, _, name = node.replace("`", "").rpartition(".")
            column = rels.get(alias, {}).get(name, _ANY) if alias else _ANY
            return _Value("col", [], column.family, True, column)
        return _Value("raw", [], "any", False)  # `*`, a word of a clause the reducer cut short
    if not seq:
        return _Value("const", [], "any", False)
    head = seq[0]
    if head == "CASE":
        parts = _case_parts(seq, rels)
        results = [v for kind, v in parts if kind != "WHEN"]
        values = [v for _, v in parts]
        return _Value("CASE", values, _merged([v.family for v in results]), any(v.reads for v in values))
    if isinstance(head, str) and head[:1].isalpha() and len(seq) == 2 and isinstance(seq[1], Group) \
            and head.upper() not in _OPERATORS | _PREDICATES - {"EXISTS"}:  # `IN (…)` is a piece, not a call
        return _call(head.upper(), seq[1], rels)
    if head in ("NOT", "!"):
        inner = _parse(seq[1:], rels)
        return _Value("NOT", [inner], "int", inner.reads)
    if head in ("-", "+", "~"):
        inner = _parse(seq[1:], rels)
        family = "uint" if head == "~" else ("int" if inner.family == "uint" else inner.family)
        return _Value("~" if head == "~" else "-", [inner], family, inner.reads)
    if head == "INTERVAL":  # DATE_ADD(d, INTERVAL n DAY): the amount
        return _parse(seq[1:2], rels)
    for i in range(1, len(seq)):
        token = seq[i]
        if not isinstance(token, str):
            continue
        negated = token == "NOT" and i + 1 < len(seq) and seq[i + 1] in ("IN", "BETWEEN", *_MATCH)
        op = str(seq[i + 1]) if negated else token
        if op not in _OPERATORS:
            continue
        rest = seq[i + 2:] if negated else seq[i + 1:]
        left = _parse(seq[:i], rels)
        value: _Value | None = None
        if op == "IS":
            words = [str(w) for w in rest]
            negated = bool(words) and words[0] == "NOT"
            what = words[1:] if negated else words
            value = _Value("IS " + (what[0] if what else "NULL"), [left], "int", left.reads)
        elif op == "IN" and rest and isinstance(rest[0], Group):
            group = rest[0]
            if _starts_query(group):
                values = [left, _parse([group], rels)]
            else:
                values = [left, *(_parse(part, rels) for part in _split(list(group)))]
            value = _Value("IN", values, "int", any(v.reads for v in values))
        elif op == "BETWEEN" and "AND" in rest:
            at = rest.index("AND")
            values = [left, _parse(rest[:at], rels), _parse(rest[at + 1:], rels)]
            value = _Value("BETWEEN", values, "int", any(v.reads for v in values))
        elif op in _COMPARISONS or op in _LOGIC or op in _MATCH or op in _BITS or op in _ARITHMETIC:
            right = _parse(rest, rels)
            reads = left.reads or right.reads
            if op in _NEGATED:
                negated, op = True, _NEGATED[op]
            if op in _COMPARISONS or op in _MATCH:
                value = _Value(op, [left, right], "int", reads)
            elif op in _LOGIC:
                value = _Value(_LOGIC[op], [left, right], "int", reads)
            elif op in _BITS:
                value = _Value(op, [left, right], "uint", reads)
            elif op == "/":
                value = _Value(op, [left, right], "real" if "real" in (left.family, right.family) else "decimal",
                               reads)
            else:
                family = "int" if op == "DIV" else _arithmetic([left.family, right.family])
                value = _Value(op, [left, right], family, reads)
        if value is not None:
            return _Value("NOT", [value], "int", value.reads) if negated else value
    reads = any(isinstance(n, Group) or (isinstance(n, str) and ("." in n or bool(_COLUMN.match(n)))) for n in seq)
    return _Value("raw", [], "any", reads)


def _case_parts(seq: list[Node], rels: dict[str, Relation]) -> list[tuple[str, _Value]]:
    parts: list[tuple[str, _Value]] = []
    kind, start = "", 1
    for i in range(1, len(seq) + 1):
        token = seq[i] if i < len(seq) else "END"
        if token in ("WHEN", "THEN", "ELSE", "END"):
            if kind:
                parts.append((kind, _parse(seq[start:i], rels)))
            kind, start = str(token), i + 1
    return [(k, v) for k, v in parts if k != "END"]


def _call(name: str, group: Group, rels: dict[str, Relation]) -> _Value:
    if name == "EXISTS":
        query = _parse([group], rels)
        return _Value("EXISTS", [query], "int", True)
    if name == "CAST" and "AS" in group:
        at = group.index("AS")
        inner = _parse(list(group[:at]), rels)
        target = str(group[at + 1]).upper() if at + 1 < len(group) else ""
        family = _FAMILIES.get(target, "str" if target == "CHAR" else "any")
        return _Value("CAST", [inner], family, inner.reads)
    args = [_parse(part, rels) for part in _split(list(group))]
    reads = any(a.reads for a in args)
    families = [a.family for a in args]
    if name in _INT_FUNCTIONS:
        family = "int"
    elif name in _STR_FUNCTIONS:
        family = "str"
    elif name in _REAL_FUNCTIONS:
        family = "real"
    elif name in ("FLOOR", "CEIL", "CEILING"):  # of a DECIMAL an integer, of a float a float
        family = "real" if families and families[0] == "real" else "int"
    elif name in ("IF",):
        family = _merged(families[1:])
    elif name in ("IFNULL", "COALESCE", "GREATEST", "LEAST"):
        family = _merged(families)
    elif name in ("SUM", "AVG"):
        family = "real" if families and families[0] == "real" else "decimal"
    elif name == "DATE":
        family = "date"
    elif name in ("ABS", "ROUND", "TRUNCATE", "NULLIF", "MIN", "MAX", "DATE_ADD", "DATE_SUB"):
        family = families[0] if families else "any"
    else:
        family = "any"
    return _Value(name, args, family, reads)


# --------------------------------------------------------------------------- the cause, whichever oracle saw it

#: Where each oracle's queries hold the case it checked: the first query (NoREC's COUNT(*) … WHERE p, the plans
#: oracle's query as it is) or the second (TLP's union of partitions, whose first partition is the query with
#: WHERE p or HAVING h; for aggregates that union inside `SELECT MIN(u.a) FROM (…) AS u`).
_CASE_QUERY = {"norec": 0, "plans": 0, "tlp-where": 1, "tlp-distinct": 1, "tlp-group-by": 1, "tlp-having": 1,
               "tlp-aggregate": 1}
_AGGREGATES = frozenset({"COUNT", "SUM", "MIN", "MAX", "AVG"})
#: The server kinds whose causes depend on the types of what a condition compares. MariaDB's (and MySQL's, whose
#: optimizer it shares) index lookups store the constant into the key column's type (ref and range access,
#: IN-subquery lookups and materialization), and of the nine MariaDB causes of the 10-minute runs five are
#: that: a fractional constant against an integer key (K-ckp), an out-of-range number against an indexed or
#: materialized numeric subquery column (K-flt), a string against a prefix-indexed one (K-pfx, which signed as
#: K-flt without types), a big unsigned bound against a float (K-btw). The two TiDB causes (a null-aware anti
#: join, an outer join made inner) came with every type there is, and typing them split each four to six ways.
TYPED = frozenset({"mariadb", "mysql"})


def cause(oracle: str, queries: list[str], statements: list[str] | None = None, *, typed: bool = True) -> str | None:
    """The case an oracle's queries were derived from, without what the oracle itself adds, as text: its sources
    (derived tables and CTEs that are more than a table, index hints), the conditions of its WHERE, HAVING and
    ON, and the select items that compute something (a plain column, or an aggregate of one, is the oracle's
    choice of what to compare, not a cause). The same bug seen by TLP WHERE, NoREC and the plans oracle,
    reduced to the same case, gives the same text: the plans oracle's variants are left out too, as it tries two
    of those that apply to a query, chosen by turn (TiDB's null-aware anti join bug came under two different
    pairs of SET_VAR variants and from TLP WHERE). With `typed`, each operand of a comparison is its type (and
    a column's index role, read from `statements`), not the expression that computes it. None for an oracle or
    a shape this does not know (the caller signs by the whole queries then).

    What a condition keeps, and why (each merge below was one cause signing several ways in four 10-minute runs'
    64 MariaDB and 14 TiDB reduced wrong results, every one replayed and put to its cause by hand; the family
    names are that reading's):
    - WHERE, HAVING and ON alike, one set of conditions: a HAVING over group columns is pushed into WHERE
      (every HAVING finding of both MariaDB runs went away with condition_pushdown_from_having=off), and the
      decimal-key bug showed in an outer join's ON as in a WHERE;
    - a condition and its negation alike (NOT is dropped, `<>` is NOT `=`, `>=` NOT `<`, NOT IN NOT IN, IS NOT
      NULL NOT IS NULL): TLP checks p, NOT p and p IS NULL, which for NOT p are the same three queries; NoREC
      and the plans oracle evaluate NOT p through p;
    - `x IN (y)` of one item as `x = y` (the servers rewrite it so); a list of more as the set of its items that
      read a column, when there is one: the reducer replaces a list item the difference does not need by a
      constant (NULL, 0 or 1) and never drops one (reduce.shrink_expr), so the constants beside a column are
      its leftovers (TiDB's outer join made inner came as `? IN (c, c)`, `? IN (?, c, c)` and `c IN (c, ?)`);
    - a comparison's operands in one order, a BETWEEN's two bounds too: which side or bound the generator put
      the constant on is incidental;
    - `x IN (SELECT s.c …)` as the subquery's column alone, without the left side and without whether the
      column leads an index of its own (a prefix index stays): the generator makes the left side of the
      column's own type family (generator._subquery_predicate), so it adds only which expression of that
      family, and MariaDB looks the left side up in an index either way, the column's own or the one it
      builds to materialize the subquery (K-flt showed in both, and only the materialized one differed when
      the plans oracle turned materialization off). A numeric column is `number`, whichever: the lookup
      stores the left side into the column's type, and a value that type cannot hold was one cause in TINYINT,
      BOOL, INT, SMALLINT UNSIGNED, DECIMAL(5,2) and FLOAT columns alike (K-flt, 20 files);
    - an operand as its type: a constant (DATEDIFF(…), YEAR(…), ~5, CONCAT('a', 0)) as `?` and its type, a
      column as `c:` its type and index role, a value computed from columns as `x:` its type. What the reducer
      could not replace by a column or a constant of its type still holds a value of that type, and which
      function computed it is the generator's choice (K-flt came with DATEDIFF, YEAR, `~`, `^` and FLOOR);
    - a value used as a condition by itself (`WHERE (c)`, TLP's partitioning by a column's truth) compares
      nothing, and a condition of constants alone is the same for every row: both are left out when the case
      has a condition that compares what a table holds, and kept as written (constants typed) when not."""
    at = _CASE_QUERY.get(oracle)
    if at is None or len(queries) <= at:
        return None
    seq = list(tree(tokens(queries[at], typed=True)))
    rels = _relations(seq, schema(statements or []))
    with_part = ""
    if seq and seq[0] == "WITH":
        ctes, i = _ctes(seq, 1)
        with_part, seq = " ".join(ctes), seq[i:]
    select = _first_select(seq, aggregated=oracle == "tlp-aggregate")
    if select is None:
        return None
    render = _Render(typed)
    kept: dict[str, str] = {"WITH": with_part}
    conditions: list[tuple[list[Node], _Value]] = []
    for clause, nodes in _clauses(select):
        if clause == "SELECT":
            if nodes and isinstance(nodes[0], str) and nodes[0].startswith("/*+"):
                nodes = nodes[1:]
            if nodes and nodes[0] == "DISTINCT":
                nodes = nodes[1:]
            computed = sorted({e for e in (_expr(_unaliased(item), DEPTH) for item in _split(nodes)) if not _plain(e)})
            kept["ITEMS"] = "ITEMS " + ", ".join(computed) if computed else ""
        elif clause == "FROM":
            sources, on = _sources(nodes)
            kept["FROM"] = "FROM " + " ".join(["t", *sources])
            conditions += [([c], _parse([c], rels)) for c in on]
        elif clause in ("WHERE", "HAVING"):
            conditions.append((nodes, _parse(nodes, rels)))
    rendered = [(render.condition(v), v.reads, nodes) for nodes, v in conditions]
    compared = sorted({r for r, reads, _ in rendered if r is not None and reads and not r.startswith("TRUTH ")})
    # with nothing compared, what is left is kept as written (`HAVING MIN(NULL)`): a type alone would say nothing
    others = sorted({_expr(nodes, DEPTH) for _, _, nodes in rendered})
    if compared or others:
        kept["WHERE"] = "WHERE " + " ; ".join(compared or others)
    parts = [kept[k] for k in ("WITH", "FROM", "WHERE", "ITEMS") if kept.get(k)]
    return " ".join(parts)


#: A constant's (or computed value's) class: whether it is a whole number within BIGINT's range, one beyond it
#: (`~0`, a bit operator's result: what K-btw compares a float with), or a fraction (a DECIMAL or a float
#: literal alike: K-ckp came with 1.5 and -1e-5).
_VALUE_CLASS = {"decimal": "frac", "real": "frac"}
#: A column's class: its storage type, signed and unsigned integers alike (K-ckp showed on a signed and an
#: unsigned key, K-flt with a constant out of a signed column's range and a negative one against an unsigned).
_COLUMN_CLASS = {"uint": "int"}


class _Render:
    """A condition as cause text (see `cause`), with operands typed or not."""

    def __init__(self, typed: bool) -> None:
        self.typed = typed

    def condition(self, v: _Value) -> str | None:
        if v.op == "NOT":
            return self.condition(v.args[0])
        if v.op in ("AND", "OR", "XOR"):
            parts = sorted({p for p in (self.condition(a) for a in v.args) if p is not None and
                            not p.startswith("TRUTH ")})
            return f"({f' {v.op} '.join(parts)})" if len(parts) > 1 else (parts[0] if parts else None)
        if v.op.startswith("IS "):
            inner = v.args[0]
            shown = self.condition(inner) if inner.op in _PREDICATES else self.operand(inner)
            return f"({shown}) {v.op}"
        if v.op in ("=", "<=>"):
            a, b = sorted(self.operand(x) for x in v.args)
            return f"{a} {v.op} {b}"
        if v.op in ("<", ">"):
            a, b = (self.operand(x) for x in v.args)
            op = v.op
            if a > b:
                a, b, op = b, a, "<" if op == ">" else ">"
            return f"{a} {'<' if a == b else op} {b}"
        if v.op == "BETWEEN":
            low, high = sorted(self.operand(x) for x in v.args[1:])
            return f"{self.operand(v.args[0])} BETWEEN {low} AND {high}"
        if v.op == "IN":
            if len(v.args) == 2 and v.args[1].op == "query":
                return "IN " + self.operand(v.args[1], lookup=True)
            if len(v.args) == 2:
                a, b = sorted(self.operand(x) for x in v.args)
                return f"{a} = {b}"
            read = [x for x in v.args[1:] if x.reads]
            items = sorted({self.operand(x) for x in (read or v.args[1:])})
            return f"{self.operand(v.args[0])} IN ({', '.join(items)})"
        if v.op in _MATCH:
            return f"{self.operand(v.args[0])} {v.op} {self.operand(v.args[1])}"
        if v.op == "EXISTS":
            query = v.args[0].query
            return "EXISTS (SUBQUERY" + (" correlated)" if query is not None and _correlated(query) else ")")
        return "TRUTH " + self.operand(v)

    def operand(self, v: _Value, *, lookup: bool = False) -> str:
        """An operand as its class (see `cause`). `lookup`: a subquery whose values an IN looks the left side up
        in, which is shown by its column alone, without the column's own index (see `cause`)."""
        if v.op == "query":
            assert v.query is not None
            item = v.args[0]
            what = ""
            if self.typed:
                what = " " + self.operand(item)
                if lookup and item.column is not None:
                    column = item.column
                    looked_up = Column("number" if column.family in _NUMERIC else column.family,
                                       "prefix" if column.role == "prefix" else "")
                    what = " " + self.operand(dataclasses.replace(item, column=looked_up))
            return f"(SUBQUERY{what}{' correlated' if _correlated(v.query) else ''})"
        if v.op in _PREDICATES:
            return f"({self.condition(v)})"
        if not v.reads:
            return f"?{_VALUE_CLASS.get(v.family, v.family)}" if self.typed else "?"
        if v.op == "col" and v.column is not None:
            return str(Column(_COLUMN_CLASS.get(v.column.family, v.column.family), v.column.role)) \
                if self.typed else "c"
        return f"x:{_VALUE_CLASS.get(v.family, v.family)}" if self.typed else "x"


def _sources(body: list[Node]) -> tuple[list[str], list[Node]]:
    """FROM …: the derived tables that are more than a table and the index hints (sorted, each once: the order
    and number of joins are the generator's choice), and the ON conditions (each a condition of the case)."""
    kept: set[str] = set()
    on: list[Node] = []
    i = 0
    while i < len(body):
        node = body[i]
        if isinstance(node, Group):
            if _starts_query(node) and not _is_table(node):
                kept.add(f"( {_statement(node)} )")
        elif node == "ON" and i + 1 < len(body):
            on.append(body[i + 1])
            i += 1
        elif node in ("IGNORE", "FORCE", "USE") and i + 2 < len(body) and body[i + 1] == "INDEX":
            kept.add(f"{node} INDEX")
            i += 2
        i += 1
    return sorted(kept), on


def _first_select(seq: list[Node], *, aggregated: bool) -> list[Node] | None:
    """The SELECT that holds the case: the sequence itself, the first branch of a union, or (TLP over an
    aggregate) the first branch of the union in the FROM of `SELECT MIN(u.a) FROM (…) AS u`."""
    if aggregated and seq and seq[0] == "SELECT":
        for clause, body in _clauses(seq):
            if clause == "FROM" and body and isinstance(body[0], Group):
                return _first_select(list(body[0]), aggregated=False)
        return None
    while seq and isinstance(seq[0], Group):  # `(P1) UNION ALL (P2) …`: the first partition
        seq = list(seq[0])
    return seq if seq and seq[0] == "SELECT" else None


def _plain(item: str) -> bool:
    """A column, a constant (`-5` too), or an aggregate of one (`COUNT (*)`, `MAX ((c))`)."""
    if item == "c" or re.fullmatch(r"-? ?\?\w*", item):
        return True
    m = re.fullmatch(r"(\w+) \((.*)\)", item)
    return m is not None and m.group(1) in _AGGREGATES and m.group(2) in ("*", "c", "(c)", "DISTINCT (c)")


__all__ = ["DEPTH", "TYPED", "Column", "cause", "schema", "skeleton", "tokens", "tree"]
