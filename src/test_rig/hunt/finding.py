"""A finding as data: what was seen (oracle, queries, both results or the error), its reduced repro, its
signature for deduplication, and the self-contained `.sql` file a person runs with the stock client.

The signature groups the same bug found many times: oracle, server kind and major.minor version, and the
operators, functions, join kinds, plan features and column types that remain in the reduced queries (never
literals or names, which differ between two finds of one bug)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import jsonable
from .generator import GENERATOR_VERSION

_WORD = re.compile(r"\b[A-Z][A-Z_]{1,}\b")
_SYMBOL = re.compile(r"<=>|<>|<=|>=|<<|>>|[=<>+\-*/%&|^~]")
#: words that every query has: they say nothing about which bug it is
_NOISE = frozenset({"SELECT", "FROM", "AS", "WHERE", "AND_", "NULL", "ON", "BY", "ALL", "INTERVAL", "DAY", "HOUR",
                    "SECOND", "STATEMENT", "FOR", "SET", "TIMESTAMP", "DATE_", "TIME_", "WITH", "THEN", "WHEN",
                    "END", "ELSE"})
_TYPE = re.compile(r"\b(c\d+) ((?:TINY|SMALL|MEDIUM|BIG)?INT(?: UNSIGNED)?|BOOL|DECIMAL\(\d+,\d+\)|DOUBLE|FLOAT|"
                   r"VARCHAR\(\d+\)|CHAR\(\d+\)|TEXT|DATETIME|DATE|TIME)(?: CHARACTER SET \w+ COLLATE (\w+))?")


@dataclass
class Finding:
    kind: str  # "wrong-result", "error", "crash", "server-log"
    oracle: str
    server: dict[str, Any]
    seed: int
    worker: int
    description: str
    queries: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    #: each query's rows (as JSON values) or its error
    results: list[Any] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    reduced: bool = False
    reduction: dict[str, Any] = field(default_factory=dict)
    signature: str = ""
    signature_id: str = ""
    count: int = 1
    known: bool = False
    file: str | None = None
    error: dict[str, Any] | None = None
    #: other findings whose reduced statements are the same: most likely one bug seen by several oracles
    same_data_as: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "oracle": self.oracle, "signature": self.signature, "id": self.signature_id,
                "count": self.count, "known": self.known, "description": self.description, "seed": self.seed,
                "worker": self.worker, "generator_version": GENERATOR_VERSION, "server": self.server,
                "statements": self.statements, "queries": self.queries, "labels": self.labels,
                "results": self.results, "error": self.error, "reduced": self.reduced, "reduction": self.reduction,
                "sql": self.sql(), "file": self.file, "same_data_as": self.same_data_as}

    def sql(self) -> str:
        return repro_sql(self)


def signature(kind: str, oracle: str, server: dict[str, Any], statements: list[str], queries: list[str],
              error_code: int | None = None, message: str = "") -> tuple[str, str]:
    """(signature text, short id) of a reduced finding. An error is signed by its code and the shape of its
    message (numbers and quoted names removed), whichever query raised it: one server failure, one signature."""
    version = ".".join(_version(server).split(".")[:2])
    if kind != "wrong-result":
        shape = re.sub(r"'[^']*'|`[^`]*`|\d+", "_", message)[:120]
        sig = "|".join((kind, f"{server.get('kind', '?')}-{version}", f"error-{error_code}", shape))
        return sig, "h" + hashlib.sha1(sig.encode()).hexdigest()[:10]
    text = " ".join(queries)
    words = sorted({w for w in _WORD.findall(_strip_literals(text)) if w not in _NOISE})
    symbols = sorted(set(_SYMBOL.findall(_strip_literals(text))))
    used = set(re.findall(r"\.(c\d+)\b", text))
    types: set[str] = set()
    for s in statements:
        if s.startswith("CREATE TABLE"):
            for name, sql_type, collation in _TYPE.findall(s):
                if name in used:
                    types.add(re.sub(r"\(.*\)", "", sql_type) + (f"/{collation}" if collation else ""))
    parts = [kind, oracle, f"{server.get('kind', '?')}-{version}", "+".join(words), " ".join(symbols),
             "+".join(sorted(types))]
    if error_code is not None:
        parts.append(f"error-{error_code}")
    sig = "|".join(parts)
    return sig, "h" + hashlib.sha1(sig.encode()).hexdigest()[:10]


def _strip_literals(text: str) -> str:
    return re.sub(r"'[^']*'", "''", text)


def _version(server: dict[str, Any]) -> str:
    v = str(server.get("version", ""))
    m = re.search(r"v(\d+\.\d+\.\d+)", v) if server.get("kind") == "tidb" else re.match(r"(\d+\.\d+\.\d+)", v)
    return m.group(1) if m else v


def repro_sql(f: Finding) -> str:
    """A self-contained script: run it with `mariadb DB < file.sql` (or `mysql`) on a fresh, empty database."""
    lines = [f"-- test-rig hunt: {f.kind} found by the {f.oracle} oracle on {f.server.get('kind')} "
             f"{f.server.get('version')}",
             f"-- signature: {f.signature}",
             f"-- id: {f.signature_id}",
             f"-- seed {f.seed}, worker {f.worker}, generator version {GENERATOR_VERSION}",
             f"-- {f.description}",
             "-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql",
             ""]
    lines += [s + ";" for s in f.statements]
    if f.kind == "wrong-result" and len(f.queries) >= 2:
        lines += ["", f"-- The results of these {len(f.queries)} queries must agree ({f.oracle}):"]
        for label, query, result in zip(f.labels, f.queries, f.results, strict=False):
            lines.append(f"-- {label} returned {len(result) if isinstance(result, list) else '?'} rows: "
                         f"{_short(result)}")
            lines.append(query + ";")
    else:
        for label, query, result in zip(f.labels, f.queries, f.results, strict=False):
            lines.append("")
            lines.append(f"-- {label}: {_short(result)}")
            lines.append(query + ";")
    return "\n".join(lines) + "\n"


def _short(result: Any, limit: int = 20) -> str:
    if isinstance(result, list):
        shown = ", ".join("(" + ", ".join("NULL" if v is None else str(v) for v in row) + ")" for row in result[:limit])
        return shown + (f" ... {len(result) - limit} more" if len(result) > limit else "")
    return str(result).replace("\n", " ")


def write_sql(f: Finding, directory: Path, index: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{index:03d}-{f.oracle}-{f.signature_id}.sql"
    path.write_text(repro_sql(f), encoding="utf-8")
    return path


def read_known(path: Path) -> set[str]:
    """The signatures and ids in a --known file: one a line (a signature, an id, or a .sql file path whose
    `-- signature:` and `-- id:` lines count), or a .sql file itself. Raises OSError when it cannot be read."""
    known: set[str] = set()
    entries: list[Path | str] = [path] if path.suffix == ".sql" else []
    if not entries:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            candidate = (path.parent / line) if not Path(line).is_absolute() else Path(line)
            entries.append(candidate if line.endswith(".sql") else line)
    for entry in entries:
        if isinstance(entry, Path):
            for line in entry.read_text(encoding="utf-8").splitlines():
                for prefix in ("-- signature: ", "-- id: "):
                    if line.startswith(prefix):
                        known.add(line[len(prefix):].strip())
        else:
            known.add(entry)
    return known


__all__ = ["Finding", "jsonable", "read_known", "repro_sql", "signature", "write_sql"]
