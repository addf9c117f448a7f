"""A reader for the part of EDN that Jepsen's history.edn files use: maps, vectors, lists, sets, keywords,
strings, numbers, nil/true/false, tags (`#jepsen.history.Op{...}`, `#inst "..."`: the tag is dropped, the form
kept) and `#_` discards. Keywords become strings without the colon (`:ok` -> "ok"), as Elle's JSON writes them.

Written here rather than taken from `edn_format` because that library, measured on this machine on Jepsen-shaped
lines, reads about 90 KB/s (a 250 MB history would take 45 minutes); this reader tokenises with one regular
expression and reads a vector of integers (the bulk of a list-append history) in one step, at C speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from test_rig.errors import UsageError

_TOKEN = re.compile(r"""
  [\s,]*   # whitespace (commas are whitespace in EDN) before every token
  (?:
  (?P<pair>(?P<pk>:[A-Za-z][\w\-?!*./]*)[\s,]+(?P<pv>-?\d+|:[A-Za-z][\w\-?!*./]*|nil|true|false)(?=[\s,\]})]))
| (?P<mop>\[[\s,]*:(?P<mf>[A-Za-z][\w\-]*)[\s,]+(?P<mk>-?\d+|:[A-Za-z][\w\-]*)[\s,]+
     (?:(?P<mv>-?\d+)|(?P<mnil>nil)|\[(?P<mints>[\s,]*(?:-?\d+(?:[\s,]+-?\d+)*)?[\s,]*)\])[\s,]*\])
| (?P<ws>[\s,]+|;[^\n]*)
| (?P<ints>\[[\s,]*(?:-?\d+(?:[\s,]+-?\d+)*)?[\s,]*\])
| (?P<open>\#\{|[\[{(])
| (?P<close>[\]})])
| (?P<str>"(?:[^"\\]|\\.)*")
| (?P<discard>\#_)
| (?P<tag>\#[A-Za-z][^\s,\[\]{}()"]*)
| (?P<char>\\(?:newline|space|tab|return|u[0-9a-fA-F]{4}|.))
| (?P<atom>[^\s,\[\]{}()";]+)
| (?P<end>$)
  )
""", re.VERBOSE)
_INT = re.compile(r"[+-]?\d+N?")
_RATIO = re.compile(r"[+-]?\d+/\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?M?")
_CLOSER = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}


class IntVector(str):
    """A vector of integers as its text between the brackets, left unparsed (with `lazy_ints`): a reader
    that wants the list calls `ints()`, one that compares reads as text calls `json()`."""

    __slots__ = ()

    def ints(self) -> list[int]:
        return [int(x) for x in self.replace(",", " ").split()]

    def json(self) -> bytes:
        return ("[" + ",".join(self.replace(",", " ").split()) + "]").encode()


class EdnError(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def _atom(text: str, pos: int) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith(":"):
        return text[1:]
    if _INT.fullmatch(text):
        return int(text.rstrip("N"))
    if _FLOAT.fullmatch(text):
        return float(text.rstrip("M"))
    if _RATIO.fullmatch(text):
        numerator, denominator = text.split("/")
        return Fraction(int(numerator), int(denominator))
    if text[0].isdecimal() or (text[0] in "+-" and len(text) > 1 and text[1].isdecimal()):
        raise EdnError(f"{text!r} is not a number", pos)
    return text  # a symbol


def _string(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


class _Form:
    __slots__ = ("items", "kind", "pos")

    def __init__(self, kind: str, pos: int) -> None:
        self.kind, self.pos = kind, pos
        self.items: list[Any] = []

    def build(self) -> Any:
        if self.kind != "{":
            return self.items
        if len(self.items) % 2:
            raise EdnError("a map needs an even number of forms", self.pos)
        it = iter(self.items)
        out: dict[Any, Any] = {}
        for k in it:
            out[k if not isinstance(k, list) else tuple(k)] = next(it)
        return out


def iter_forms(text: str, *, lazy_ints: bool = False) -> Iterator[tuple[int, Any]]:
    """The top-level forms of `text`, each with the offset where it starts. A top-level vector whose first
    element is a map is read as a sequence: each of its maps is yielded as it is read, so a history written as
    one vector of operations streams like one written a map per line. With `lazy_ints`, a vector of integers
    is an IntVector (its text) rather than a list. Raises EdnError with the offset."""
    stack: list[_Form] = []
    discards: list[int] = []  # the nesting depth of each #_ still waiting for the form it drops
    streaming = False  # inside the top-level vector of maps
    pos = 0
    end = len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise EdnError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup
        if kind is None:
            raise EdnError(f"unexpected character {text[pos]!r}", pos)
        pos = m.end()
        if kind == "end":
            break
        start = m.start(kind)
        if kind == "ws" or kind == "tag":
            continue
        if kind == "pair":  # :key scalar, as in most of a history's maps: two forms in one step
            depth = len(stack)
            first: Any = m.group("pk")[1:]
            if discards and discards[-1] == depth:
                discards.pop()
                first = None
            second: Any = _atom(m.group("pv"), start)
            if discards and discards[-1] == depth:
                discards.pop()
                continue
            if not stack:
                if first is not None:
                    yield start, first
                yield start, second
                continue
            items = stack[-1].items
            if first is not None:
                items.append(first)
            items.append(second)
            continue
        if kind == "discard":
            discards.append(len(stack))
            continue
        if kind == "open":
            tok = m.group(kind)
            stack.append(_Form(tok, start))
            if (not streaming and len(stack) == 2 and stack[0].kind == "[" and not stack[0].items and tok == "{"
                    and not discards):
                streaming = True
                stack.pop(0)
            continue
        if kind == "close":
            tok = m.group(kind)
            if not stack:
                if streaming and tok == "]":
                    streaming = False
                    continue
                raise EdnError(f"{tok!r} closes nothing", start)
            form = stack.pop()
            if _CLOSER[form.kind] != tok:
                raise EdnError(f"{tok!r} does not close {form.kind!r}", start)
            value: Any = form.build()
            at = form.pos
        elif kind == "mop":  # [:f key value]: a micro-operation, the bulk of a history, in one step
            mk = m.group("mk")
            key: Any = mk[1:] if mk[0] == ":" else int(mk)
            mv, mints = m.group("mv"), m.group("mints")
            val: Any
            if mv is not None:
                val = int(mv)
            elif mints is not None:
                val = IntVector(mints) if lazy_ints else IntVector(mints).ints()
            else:
                val = None
            value, at = [m.group("mf"), key, val], start
        elif kind == "ints":
            inner = IntVector(m.group(kind)[1:-1])
            value, at = (inner if lazy_ints else inner.ints()), start
        elif kind == "str":
            value, at = _string(m.group(kind)), start
        elif kind == "char":
            c = m.group(kind)[1:]
            value, at = (_CHARS.get(c) or (chr(int(c[1:], 16)) if len(c) == 5 and c[0] == "u" else c)), start
        else:
            value, at = _atom(m.group(kind), start), start
        if discards and discards[-1] == len(stack):
            discards.pop()
            continue
        if stack:
            stack[-1].items.append(value)
        else:
            yield at, value
    if stack:
        raise EdnError(f"{stack[-1].kind!r} is never closed", stack[-1].pos)
    if streaming:
        raise EdnError("the vector of operations is never closed", end)


def dumps(x: Any) -> str:
    """Data as Jepsen writes it in EDN: strings become keywords (as Jepsen's names are), None nil, lists
    vectors, dicts maps. Only for histories: a string that is a value, not a name, would come back as itself."""
    if x is None:
        return "nil"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return ":" + x
    if isinstance(x, list | tuple):
        return "[" + " ".join(dumps(v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{dumps(k)} {dumps(v)}" for k, v in x.items()) + "}"
    return str(x)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def loads(text: str, source: str = "EDN") -> Any:
    """One EDN form (for tests and small inputs)."""
    try:
        forms = [v for _, v in iter_forms(text)]
    except EdnError as e:
        raise UsageError(f"{source} line {line_of(text, e.pos)} is not valid EDN ({e}).") from None
    if len(forms) != 1:
        raise UsageError(f"{source} holds {len(forms)} forms, not one.")
    return forms[0]
