"""The skeleton of a reduced query: the SQL text with everything that differs between two finds of one bug
abstracted away, so that a signature built on it groups them (see finding.signature).

It reads the text (not the AST) because `--known` re-signs old reduced `.sql` files, which hold only text; the
renderer parenthesises every operand, so the text's parentheses are the tree and a small tokenizer of our own
reads it (sqlglot would have been a dependency to parse text only we write). What is abstracted, and why:
- constants become `?`, columns `c`, tables and aliases vanish, column types are not read: they are the data
  and names the generator happened to choose, which the signature leaves out as it leaves out the rows;
- a derived table or CTE that only projects one table's columns (with or without a filter) stands for a table:
  the rows its filter lets through are data too;
- join kinds and the number of tables vanish; an ON condition that reads a column stays (a join bug shows there);
- conditions and select items are kept four parentheses deep (an operator's operand is one, a function's
  argument two), what lies deeper is `_`: the reducer has removed what the difference does not need, and of
  what it could not remove, the top of a condition says which operator goes wrong, its depths are most often
  the incidental way the generator got there (one TiDB bug came with eight different correlated conditions
  inside its NOT IN subquery);
- a subquery inside a condition is `(SUBQUERY)`, or `(SUBQUERY correlated)` when it reads an outer column;
- plan hints keep their names, `SET STATEMENT … FOR` its text (switch and value), `CAST` its target type's name."""

from __future__ import annotations

import re
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
_TYPED_LITERAL = frozenset({"DATE", "TIME", "TIMESTAMP"})
_CONSTANT_WORDS = frozenset({"NULL", "TRUE", "FALSE"})
_CLAUSES = ("SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "WINDOW")
_COLUMN = re.compile(r"^(?:`?\w+`?\.)?`?c\d+`?$")


class Group(list[Node]):
    """The tokens between one pair of parentheses."""


def tokens(sql: str) -> list[str]:
    """The SQL's tokens; literals are `?` already (a typed literal such as DATE '…' too, a signed number too)."""
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
                out[-1] = "?"
                continue
            if kind == "number" and out and out[-1] == "-" and (len(out) == 1 or out[-2] in ("(", ",")):
                out[-1] = "?"
                continue
            out.append("?")
        elif kind == "word" and text.upper() in _CONSTANT_WORDS and not (out and out[-1] in ("IS", "NOT")):
            out.append("?")  # NULL, TRUE, FALSE are constants, except in IS [NOT] NULL/TRUE/FALSE
        elif kind == "word" and "." not in text and not _COLUMN.match(text):
            out.append(text.upper() if text.isupper() or text.upper() in _KEYWORDS else text)
        else:
            out.append(text)
    return out


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
    """A derived table or CTE that only projects one table's columns, perhaps filtered: it stands for a table."""
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
    """FROM …: the tables vanish, a derived table that is more than a table and each ON condition that reads a
    column stay (sorted, each once: the order and number of joins are the generator's choice)."""
    kept: set[str] = set()
    i = 0
    while i < len(body):
        node = body[i]
        if isinstance(node, Group):
            if _starts_query(node) and not _is_table(node):
                kept.add(f"( {_statement(node)} )")
        elif node == "ON" and i + 1 < len(body):
            condition = _expr([body[i + 1]], DEPTH)
            if re.search(r"\bc\b|SUBQUERY", condition):
                kept.add("JOIN ON " + condition)
            i += 1
        elif node in ("IGNORE", "FORCE", "USE") and i + 2 < len(body) and body[i + 1] == "INDEX":
            kept.add(f"{node} INDEX")
            i += 2
        i += 1
    return " ".join(["t", *sorted(kept)])


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
    return any(alias not in own for alias in re.findall(r"\b(\w+)\.`?c\d+", text))


# --------------------------------------------------------------------------- the cause, whichever oracle saw it

#: Where each oracle's queries hold the case it checked: the first query (NoREC's COUNT(*) … WHERE p, the plans
#: oracle's query as it is) or the second (TLP's union of partitions, whose first partition is the query with
#: WHERE p or HAVING h; for aggregates that union inside `SELECT MIN(u.a) FROM (…) AS u`).
_CASE_QUERY = {"norec": 0, "plans": 0, "tlp-where": 1, "tlp-distinct": 1, "tlp-group-by": 1, "tlp-having": 1,
               "tlp-aggregate": 1}
_AGGREGATES = frozenset({"COUNT", "SUM", "MIN", "MAX", "AVG"})


def cause(oracle: str, queries: list[str]) -> str | None:
    """The case an oracle's queries were derived from, without what the oracle itself adds, as text: its
    sources (as `_source` keeps them), its WHERE and HAVING conditions, and the select items that compute
    something (a plain column, or an aggregate of one, is the oracle's choice of what to compare, not a cause);
    for the plans oracle also the plan features of its variants (hint names, `SET STATEMENT` switches, index
    hints). The same bug seen by TLP WHERE and NoREC, reduced to the same case, gives the same text. None for
    an oracle or a shape this does not know (the caller signs by the whole queries then)."""
    at = _CASE_QUERY.get(oracle)
    if at is None or len(queries) <= at:
        return None
    seq = list(tree(tokens(queries[at])))
    with_part = ""
    if seq and seq[0] == "WITH":
        ctes, i = _ctes(seq, 1)
        with_part, seq = " ".join(ctes), seq[i:]
    select = _first_select(seq, aggregated=oracle == "tlp-aggregate")
    if select is None:
        return None
    kept: dict[str, str] = {"WITH": with_part}
    for clause, nodes in _clauses(select):
        if clause == "SELECT":
            if nodes and isinstance(nodes[0], str) and nodes[0].startswith("/*+"):
                nodes = nodes[1:]
            if nodes and nodes[0] == "DISTINCT":
                nodes = nodes[1:]
            computed = sorted({e for e in (_expr(_unaliased(item), DEPTH) for item in _split(nodes)) if not _plain(e)})
            kept["ITEMS"] = "ITEMS " + ", ".join(computed) if computed else ""
        elif clause == "FROM":
            kept["FROM"] = "FROM " + _source(nodes)
        elif clause in ("WHERE", "HAVING"):
            kept[clause] = f"{clause} " + _expr(nodes, DEPTH)
    parts = [kept[k] for k in ("WITH", "FROM", "WHERE", "HAVING", "ITEMS") if kept.get(k)]
    if oracle == "plans":
        features = sorted({_plan_features(q) for q in queries[1:]} - {""})
        parts.append("PLAN " + " / ".join(features) if features else "PLAN -")
    return " ".join(parts)


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
    """A column, a constant, or an aggregate of one (`COUNT (*)`, `MAX ((c))`)."""
    if item in ("c", "?"):
        return True
    m = re.fullmatch(r"(\w+) \((.*)\)", item)
    return m is not None and m.group(1) in _AGGREGATES and m.group(2) in ("*", "c", "(c)", "DISTINCT (c)")


def _plan_features(sql: str) -> str:
    """A plans variant's plan: its hint names, its SET STATEMENT switch and value, its index hints."""
    out = []
    m = _SET_STATEMENT.match(sql)
    if m is not None:
        out.append(f"SET STATEMENT {m.group(1)}")
        sql = sql[m.end():]
    hints = " ".join(re.findall(r"/\*\+(.*?)\*/", sql))
    out += sorted(set(re.findall(r"([A-Z_]+)\s*\(", hints)))
    out += sorted(set(re.findall(r"SET_VAR\s*\(([^)]*)\)", hints)))  # which optimizer variable, and its value
    out += sorted({f"{verb} INDEX" for verb in re.findall(r"\b(IGNORE|FORCE|USE) INDEX\b", sql)})
    return " ".join(out)


__all__ = ["DEPTH", "cause", "skeleton", "tokens", "tree"]
