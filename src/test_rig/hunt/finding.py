"""A finding as data: what was seen (oracle, queries, both results or the error), its reduced repro, its
signature for deduplication, and the self-contained `.sql` file a person runs with the stock client.

The signature groups the same bug found many times, by any oracle: server kind and major.minor version, the
session switches left in the reduced statements and the reduced case the oracle's queries were derived from,
without the oracle's own additions (hunt/skeleton.py `cause`: never literals, names, the expression that
computes a constant, or join shapes, which differ between two finds of one bug; on MariaDB and MySQL the types
compared and a column's index role, which tell causes apart). One group lists the oracles that found it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_rig.hunt.compare import jsonable
from test_rig.hunt.generator import GENERATOR_VERSION
from test_rig.hunt.skeleton import TYPED, cause, skeleton


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
    #: the distinct reduced cases (statements and queries, hashed) grouped under this signature; the first one's
    #: SQL is the one kept
    shapes: set[str] = field(default_factory=set)
    #: how many finds of this bug each oracle made (`oracle` is the first one's, whose reduced SQL is kept)
    oracles: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shapes.add(case_hash(self.statements, self.queries))
        if not self.oracles and self.oracle:
            self.oracles[self.oracle] = self.count

    def add(self, statements: list[str], queries: list[str], oracle: str | None = None) -> None:
        """One more find of this bug, by `oracle` (the first one's when None; its reduced case may differ from
        the first one's)."""
        self.count += 1
        self.shapes.add(case_hash(statements, queries))
        name = oracle or self.oracle
        self.oracles[name] = self.oracles.get(name, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "oracle": self.oracle, "signature": self.signature, "id": self.signature_id,
                "count": self.count, "known": self.known, "description": self.description, "seed": self.seed,
                "worker": self.worker, "generator_version": GENERATOR_VERSION, "server": self.server,
                "statements": self.statements, "queries": self.queries, "labels": self.labels,
                "results": self.results, "error": self.error, "reduced": self.reduced, "reduction": self.reduction,
                "sql": self.sql(), "file": self.file, "same_data_as": self.same_data_as,
                "shapes": len(self.shapes), "oracles": dict(self.oracles)}

    def sql(self) -> str:
        return repro_sql(self)


def signature(kind: str, oracle: str, server: dict[str, Any], statements: list[str], queries: list[str],
              error_code: int | None = None, message: str = "") -> tuple[str, str]:
    """(signature text, short id) of a reduced finding. A wrong result is signed by the server kind and
    major.minor version, the session switches left in its reduced statements, and its cause: the reduced case
    the oracle's queries were derived from, without what the oracle adds (hunt/skeleton.py `cause`: the sources,
    the WHERE, HAVING and ON conditions as one set, a condition and its negation alike, each comparison's
    operands as their types — on MariaDB and MySQL, skeleton.TYPED — and a column's index role, the select items
    that compute something; constants, names, join shapes and the plans oracle's variants abstracted). So one
    bug seen by TLP WHERE, NoREC and the plans oracle signs once, and one bug reached with other data,
    functions or incidental clauses too. The session switches are the last SET of each variable. An oracle the
    cause does not know (a test's own) is signed by its name and the skeleton of
    each of its queries. An error is signed by its code and the shape of its message (numbers and quoted names
    removed), whichever query raised it: one server failure, one signature."""
    version = ".".join(_version(server).split(".")[:2])
    if kind != "wrong-result":
        shape = re.sub(r"'[^']*'|`[^`]*`|\d+", "_", message)[:120]
        sig = "|".join((kind, f"{server.get('kind', '?')}-{version}", f"error-{error_code}", shape))
        return sig, "h" + hashlib.sha1(sig.encode()).hexdigest()[:10]
    switches = _switches(statements)
    case = cause(oracle, queries, statements, typed=server.get("kind") in TYPED)
    parts = [kind, f"{server.get('kind', '?')}-{version}", " ; ".join(switches) or "-",
             case if case is not None else f"{oracle}: " + " ; ".join(skeleton(q) for q in queries)]
    if error_code is not None:
        parts.append(f"error-{error_code}")
    sig = "|".join(parts)
    return sig, "h" + hashlib.sha1(sig.encode()).hexdigest()[:10]


def _switches(statements: list[str]) -> list[str]:
    """The session switches the reduced statements leave in force: the last SET of each variable (an earlier one
    of the same variable no longer holds when the queries run), sorted."""
    last: dict[str, str] = {}
    for s in statements:
        m = re.match(r"\s*SET (?:SESSION |@@(?:session\.)?)(\w+)", s, re.I)
        if m is not None:
            last[m.group(1).lower()] = re.sub(r"\s+", " ", s.strip().rstrip(";"))
    return sorted(last.values())


def case_hash(statements: list[str], queries: list[str]) -> str:
    return hashlib.sha1("\n".join([*statements, "--", *queries]).encode()).hexdigest()[:12]


_HEADER = re.compile(r"^-- test-rig hunt: (\S+) found by the (\S+) oracle on (\S+) (.*)$")


def resign(text: str) -> tuple[str, str] | None:
    """The signature today's code gives the reduced `.sql` file `text` (written by any earlier version: the
    queries and statements are read back from it), or None when it is not a wrong-result file of the hunt."""
    lines = text.splitlines()
    m = _HEADER.match(lines[0]) if lines else None
    if m is None or m.group(1) != "wrong-result":
        return None
    statements: list[str] = []
    queries: list[str] = []
    in_queries = False
    for line in lines[1:]:
        if line.startswith("-- The results of these"):
            in_queries = True
        elif line and not line.startswith("--"):
            (queries if in_queries else statements).append(line.rstrip(";"))
    if not queries:
        return None
    return signature("wrong-result", m.group(2), {"kind": m.group(3), "version": m.group(4)}, statements, queries)


def _version(server: dict[str, Any]) -> str:
    v = str(server.get("version", ""))
    m = re.search(r"v(\d+\.\d+\.\d+)", v) if server.get("kind") == "tidb" else re.match(r"(\d+\.\d+\.\d+)", v)
    return m.group(1) if m else v


def repro_sql(f: Finding) -> str:
    """A self-contained script: run it with `mariadb --comments DB < file.sql` (or `mysql`) on a fresh, empty
    database. It sets the session's character set to the hunt's own: the three files of a 10-minute run that did
    not reproduce with the stock client did so because its default was utf8mb3, and two TiDB files because it
    strips the optimizer hints unless given --comments."""
    lines = [f"-- test-rig hunt: {f.kind} found by the {f.oracle} oracle on {f.server.get('kind')} "
             f"{f.server.get('version')}",
             f"-- signature: {f.signature}",
             f"-- id: {f.signature_id}",
             f"-- seed {f.seed}, worker {f.worker}, generator version {GENERATOR_VERSION}",
             f"-- {f.description}",
             "-- Run on a fresh, empty database: mariadb --comments -h HOST -P PORT -u USER DATABASE < this-file.sql",
             "-- (--comments: the client strips comments otherwise, and with them the /*+ ... */ hints a query may",
             "-- hold; SET NAMES: the hunt's connections use utf8mb4, the client's default may be another)",
             "", "SET NAMES utf8mb4;"]
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
    `-- signature:` and `-- id:` lines count), a .sql file itself, or a directory of them (every .sql file under
    it, e.g. tests/regressions/hunt with its errors/). Raises OSError when it cannot be read."""
    known: set[str] = set()
    entries: list[Path | str] = [path] if path.suffix == ".sql" else []
    if path.is_dir():
        entries = list(sorted(path.rglob("*.sql")))
    elif not entries:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            candidate = (path.parent / line) if not Path(line).is_absolute() else Path(line)
            entries.append(candidate if line.endswith(".sql") else line)
    for entry in entries:
        if isinstance(entry, Path):
            text = entry.read_text(encoding="utf-8")
            for line in text.splitlines():
                for prefix in ("-- signature: ", "-- id: "):
                    if line.startswith(prefix):
                        known.add(line[len(prefix):].strip())
            today = resign(text)  # a file written before the signature changed is known by today's one too
            if today is not None:
                known.update(today)
        else:
            known.add(entry)
    return known


__all__ = ["Finding", "jsonable", "read_known", "repro_sql", "resign", "signature", "write_sql"]
