"""`test-rig check`: a recorded history (test-rig's JSONL, Elle's JSON, Jepsen's EDN) read from its file and
checked again; and the model and anomaly names `check` and `elle` take. Imports only the checker, so that
checking a small history costs little more than the interpreter's start."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from test_rig.errors import UsageError
from test_rig.history.checker import check_history
from test_rig.history.model import FORMATS, format_of, iter_history, iter_pairs
from test_rig.options import option
from test_rig.results import RunResult

WORKLOADS = ("list-append", "rw-register", "bank")


@dataclass(frozen=True)
class CheckOptions:
    """How to read and judge a history: as the `check` command's options give them (names not yet checked), each
    with its help (test_rig.options: the command's options are made from them)."""

    workload: str | None = option(None, "The workload the history is of (default: told from its first "
                                  "operations).", choices=WORKLOADS)
    fmt: str | None = option(None, "jsonl, json (Elle's) or edn (Jepsen's history.edn); default: from the file "
                             "name.", choices=FORMATS, flag="--format")
    models: tuple[str, ...] = option((), "The model(s) the history must satisfy, Elle's names (default: "
                                     "serializable, or none with --anomalies).", flag="--consistency-model",
                                     metavar="MODEL")
    anomalies: tuple[str, ...] = option((), "Anomaly types that make the history invalid (comma-separated), as "
                                        "Elle's :anomalies.", metavar="NAMES")
    wfr_keys: bool = option(False, "rw-register: a transaction that reads a key and then writes it orders the two "
                            "versions (Elle's :wfr-keys?).")
    total: int | None = option(None, "bank: the fixed total of all balances (default 100).")
    time_limit: float = option(60.0, "Seconds the cycle search may take; past it the verdict is unknown unless "
                               "already invalid.", low=0.1)


def check_file(history_path: str, options: CheckOptions) -> RunResult:
    """The `check` command's run: the history in `history_path` checked under the models and anomalies of
    `options`. Returns the result (the checker's report beside workload, history and format); raises
    UsageError for a file that cannot be read, a malformed history, or names and options that do not apply."""
    path = Path(history_path)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise UsageError(f"History {history_path} is not a readable file; check the path.")
    anomalies = parse_anomalies(options.anomalies)
    chosen = parse_models(options.models, None if anomalies else "serializable")
    workload = options.workload or guess_workload(history_path, options.fmt)
    if options.wfr_keys and workload != "rw-register":
        raise UsageError(f"--wfr-keys applies to rw-register histories only, not {workload}.")
    if options.total is not None and workload != "bank":
        raise UsageError(f"--total applies to bank histories only, not {workload}.")
    report = check_history(workload, iter_pairs(iter_history(history_path, options.fmt, raw_reads=True)),
                           model=chosen or None, anomalies=anomalies, total=options.total or 100,
                           wfr_keys=options.wfr_keys, time_budget=options.time_limit)
    return RunResult("check", ok=report.valid is True, payload={
        "error": None, "workload": workload, "history": history_path, "format": format_of(path, options.fmt),
        **report.to_dict()})


def parse_models(values: Sequence[str], default: str | None) -> list[str]:
    """--consistency-model (repeatable, or comma-separated): Elle's names or Adya's; unknown ones are bad input."""
    from test_rig.history.consistency import KNOWN_NAMES, canonical

    out: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            name = canonical(part)
            if name is None:
                raise UsageError(f"--consistency-model {part.strip()} is not a model Elle knows; use one of "
                                 f"{', '.join(KNOWN_NAMES)}.")
            out.append(name)
    if not out and default is not None:
        out.append(default)
    return out


def parse_anomalies(values: Sequence[str]) -> list[str]:
    """--anomalies (repeatable, comma-separated, with or without Elle's leading colon); unknown ones are bad
    input."""
    from test_rig.history.consistency import IMPLIED, PROSCRIBES, UNKNOWN_TYPES
    from test_rig.history.graph import CYCLE_TYPES

    known = set(IMPLIED) | {a for v in IMPLIED.values() for a in v} | {a for v in PROSCRIBES.values() for a in v} \
        | set(CYCLE_TYPES) | set(UNKNOWN_TYPES)
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().removeprefix(":")
            if not name:
                continue
            if name not in known:
                raise UsageError(f"--anomalies {name} is not an anomaly Elle knows; use some of "
                                 f"{', '.join(sorted(known))}.")
            out.append(name)
    return out


def guess_workload(path: str, fmt: str | None) -> str:
    """The workload a history is of, from its micro-operations (the first append, write or bank operation).
    An empty history is list-append's: a check over nothing is undecided whatever the workload."""
    seen = False
    for op in iter_history(path, fmt):
        seen = True
        if op.f in ("read", "transfer"):
            return "bank"
        if isinstance(op.value, list):
            for m in op.value:
                if isinstance(m, list) and m:
                    if m[0] == "append":
                        return "list-append"
                    if m[0] == "w":
                        return "rw-register"
                    if m[0] in ("read", "transfer"):
                        return "bank"
    if not seen:
        return "list-append"
    raise UsageError(f"{path} holds no append, write or bank operation to tell its workload from; give --workload.")
