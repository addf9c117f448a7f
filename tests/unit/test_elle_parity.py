"""Parity with Elle: small list-append histories, one or more per anomaly type, with the verdict, the anomaly
types and the weakest models ruled out that Elle gives for them (the scenarios of Elle 0.2.7's own checker
tests, list_append_test.clj, written here in test-rig's notation). Each history is checked as JSONL with
empty reads written as `null`, as JSONL with them written as `[]`, and as Jepsen EDN; all three must agree with
Elle. For every invalid case, taking away the one observation that is its evidence changes the verdict: the
judge can fail.

Notation (Elle's test notation): "ax1ry12" is a transaction that appends 1 to x and reads y as [1 2]; "ry" reads
y as nil (in an ok completion: the empty list)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from test_rig.history import edn
from test_rig.history.checker import check_list_append
from test_rig.history.consistency import UNKNOWN_TYPES
from test_rig.history.model import iter_history, iter_pairs

Mop = list[Any]


def txn(text: str) -> list[Mop]:
    """Elle's test notation: a append, r read, then a key letter, then digits (one element each)."""
    mops: list[Mop] = []
    for c in text:
        if c in "ar":
            mops.append(["append" if c == "a" else "r"])
        elif c.isalpha():
            mops[-1].append(c)
            if mops[-1][0] == "r":
                mops[-1].append(None)
        else:
            m = mops[-1]
            if m[0] == "append":
                m.append(int(c))
            else:
                m[2] = [*(m[2] or []), int(c)]
    return mops


def invoke_of(mops: list[Mop]) -> list[Mop]:
    return [[f, k, None] if f == "r" else [f, k, v] for f, k, v in mops]


@dataclass
class H:
    """A history: each entry (process, completion type, notation); `concurrent`: every invoke before any
    completion (else one transaction after another)."""

    txns: list[tuple[int, str, str]]
    concurrent: bool = False
    raw: list[dict[str, Any]] = field(default_factory=list)  # operations given as they are

    def ops(self) -> list[dict[str, Any]]:
        if self.raw:
            return [dict(o, index=i, time=i) for i, o in enumerate(self.raw)]
        out: list[dict[str, Any]] = []
        pairs = [({"process": p, "type": "invoke", "f": "txn", "value": invoke_of(txn(t))},
                  {"process": p, "type": ty, "f": "txn", "value": txn(t) if ty == "ok" else invoke_of(txn(t))})
                 for p, ty, t in self.txns]
        order = [i for i, _ in pairs] + [c for _, c in pairs] if self.concurrent else \
            [x for pair_ in pairs for x in pair_]
        for i, o in enumerate(order):
            out.append(dict(o, index=i, time=i))
        return out


def seq(*texts: str, process: int = 0) -> H:
    return H([(process, "ok", t) for t in texts])


@dataclass
class Case:
    name: str
    history: H
    models: list[str] | None  # None: Elle's :consistency-models nil (only `anomalies` count)
    anomalies: list[str]
    valid: bool | str
    types: list[str]  # Elle's :anomaly-types (what makes it invalid or unknown)
    not_: list[str] | None = None  # Elle's :not, when its result gives one
    evidence: tuple[int, int] | None = None  # (completion, micro-op) whose removal takes the evidence away


G0 = seq("ax1ay1", "ax2ay2", "rx12ry21")
G1A = H([(0, "fail", "ax1"), (0, "ok", "rx1")])
G1B = seq("ax1ax2", "rx1")
G1C = seq("ax1ry1", "ax2ay1", "rx12ry1")
GSINGLE = seq("ax1ay1", "ax2ry", "rx12")
G2 = seq("ax1ry", "ay1rx")
STRONG_SI = H([(0, "ok", "ax1"), (1, "ok", "ax2"), (2, "ok", "rx1"), (3, "ok", "rx12")])
STRONG_SESSION_SI = H([(0, "ok", "ax1"), (1, "ok", "ax2"), (1, "ok", "rx1"), (2, "ok", "rx12")])
NONADJACENT_PROCESS = H([(0, "ok", "rxrz1"), (1, "ok", "ax1"), (1, "ok", "rz"), (2, "ok", "az1")])
CONTRADICTORY = seq("ax1ry1", "ax2", "ax3ay1", "rx13", "rx123")
DIRTY_NONE = H([(0, "fail", "ax1")])
DIRTY_DIRECT = H([(0, "fail", "ax1"), (1, "ok", "ax2"), (2, "ok", "rx12")])
DIRTY_INDIRECT = H([(0, "fail", "ax1"), (1, "info", "ax2"), (2, "ok", "ax3"), (3, "ok", "rx123")])
DUPLICATES = seq("ax1ry1", "ax2ay1", "rx121")
INTERNAL = seq("ax1ax2ax4", "ax3rx1234")
UNOBSERVED = H([(0, "ok", "ax1ay1"), (1, "ok", "ax2ay2"), (2, "ok", "ax3ay3"), (3, "ok", "rx12"), (4, "ok", "ry2")],
               concurrent=True)
RR = seq("rxay1", "ryax1")
NONADJACENT = seq("ax1", "rx1ry", "ay1", "ry1rx")
NONADJACENT_SI_OK = seq("rx5ay1", "ryaz2", "rzat3", "rt3au4", "ruax5")
LOST_UPDATE = seq("ax0", "rx0ax1", "rx0ax2")
DOUBLE_WRITE = seq("rxax1ax2", "rx12")
WR_PROCESS = H([(1, "ok", "rx1ay1"), (2, "ok", "ry1"), (2, "ok", "ax1")])
RR_SINGLE = seq("ax1ay1", "rx1ry")
RR_NONADJACENT = seq("ax1at1", "rx1ry", "ay1az2", "rz2rt")
FUTURE_READ = seq("rx1ax1")

SS = ["strict-serializable"]  # Elle's default models
CASES = [
    Case("G0 as G0", G0, None, ["G0"], False, ["G0"], ["read-uncommitted"], evidence=(2, 1)),
    Case("G0 as G1", G0, None, ["G1"], False, ["G0"], ["read-uncommitted"], evidence=(2, 1)),
    Case("G0 not G2", G0, None, ["G2"], True, []),
    Case("G1a under read-uncommitted", G1A, ["read-uncommitted"], [], "unknown", ["empty-transaction-graph"],
         ["read-committed"]),
    Case("G1a under read-committed", G1A, ["read-committed"], [], False, ["G1a", "empty-transaction-graph"],
         ["read-committed"], evidence=(1, 0)),
    Case("G1a not G2", G1A, None, ["G2"], "unknown", ["empty-transaction-graph"], ["read-committed"]),
    Case("G1a under repeatable-read", G1A, ["repeatable-read"], [], False, ["G1a", "empty-transaction-graph"],
         ["read-committed"], evidence=(1, 0)),
    Case("G1b not G0", G1B, None, ["G0"], True, []),
    Case("G1b as G1", G1B, None, ["G1"], False, ["G1b"], ["read-committed"], evidence=(1, 0)),
    Case("G1b as G2 (its G-single)", G1B, None, ["G2"], False, ["G-single-item"], ["read-committed"],
         evidence=(1, 0)),
    Case("G1b under strict-serializable", G1B, SS, [], False, ["G-single-item", "G1b"], ["read-committed"],
         evidence=(1, 0)),
    Case("G1c not G0", G1C, None, ["G0"], True, []),
    Case("G1c as G1", G1C, None, ["G1"], False, ["G1c"], ["read-committed"], evidence=(0, 1)),
    Case("G1c not G2", G1C, None, ["G2"], True, []),
    Case("G-single not G0", GSINGLE, None, ["G0"], True, []),
    Case("G-single not G1", GSINGLE, None, ["G1"], True, []),
    Case("G-single as G-single", GSINGLE, None, ["G-single"], False, ["G-single-item"],
         ["consistent-view", "repeatable-read"], evidence=(1, 1)),
    Case("G-single as G2", GSINGLE, None, ["G2"], False, ["G-single-item"], ["consistent-view", "repeatable-read"],
         evidence=(1, 1)),
    Case("G2 not G0", G2, None, ["G0"], True, []),
    Case("G2 not G1", G2, None, ["G1"], True, []),
    Case("G2 allowed by read-committed", G2, ["read-committed"], [], True, []),
    Case("G2 as G2", G2, None, ["G2"], False, ["G2-item"], ["repeatable-read"], evidence=(0, 1)),
    Case("G2 under serializable", G2, ["serializable"], [], False, ["G2-item"], ["repeatable-read"],
         evidence=(0, 1)),
    Case("G2 under repeatable-read", G2, ["repeatable-read"], [], False, ["G2-item"], ["repeatable-read"],
         evidence=(0, 1)),
    Case("strong SI: not G2", STRONG_SI, None, ["G2"], True, []),
    Case("strong SI: serializable", STRONG_SI, ["serializable"], [], True, []),
    Case("strong SI: strict-serializable", STRONG_SI, SS, [], False, ["G-single-item-realtime"],
         ["strong-snapshot-isolation"], evidence=(2, 0)),
    Case("strong session SI: serializable", STRONG_SESSION_SI, ["serializable"], [], True, []),
    Case("strong session SI", STRONG_SESSION_SI, ["strong-session-snapshot-isolation"], [], False,
         ["G-single-item-process"], ["strong-session-snapshot-isolation"], evidence=(2, 0)),
    Case("G-nonadjacent-process: serializable", NONADJACENT_PROCESS, ["serializable"], [], True, []),
    Case("G-nonadjacent-process", NONADJACENT_PROCESS, ["strong-session-snapshot-isolation"], [], False,
         ["G-nonadjacent-item-process"], ["strong-session-snapshot-isolation"], evidence=(2, 0)),
    Case("contradictory read orders", CONTRADICTORY, None, ["G1"], False, ["G1c", "incompatible-order"],
         ["read-committed"], evidence=(0, 1)),
    Case("dirty update: none", DIRTY_NONE, None, ["dirty-update"], "unknown", ["empty-transaction-graph"], []),
    Case("dirty update: direct", DIRTY_DIRECT, None, ["dirty-update"], False, ["dirty-update"], ["read-committed"],
         evidence=(2, 0)),
    Case("dirty update: indirect", DIRTY_INDIRECT, None, ["dirty-update"], False, ["dirty-update"],
         ["read-committed"], evidence=(3, 0)),
    Case("duplicated elements", DUPLICATES, ["read-committed"], [], False, ["G1c", "duplicate-elements"],
         ["read-uncommitted"], evidence=(2, 0)),
    Case("internal", INTERNAL, None, ["internal"], False, ["internal"], ["read-uncommitted"], evidence=(1, 1)),
    Case("unobserved write", UNOBSERVED, ["serializable"], [], False, ["G-single-item", "G0"], ["read-uncommitted"]),
    Case("repeatable read: read-committed", RR, ["read-committed"], [], True, []),
    Case("repeatable read: G2-item", RR, ["repeatable-read"], [], False, ["G2-item"], ["repeatable-read"],
         evidence=(0, 0)),
    Case("G-nonadjacent", NONADJACENT, SS, [], False, ["G-nonadjacent-item"],
         ["repeatable-read", "snapshot-isolation"], evidence=(3, 1)),
    Case("G-nonadjacent allowed by SI", NONADJACENT_SI_OK, ["snapshot-isolation"], [], True, []),
    Case("lost update", LOST_UPDATE, SS, [], False, ["G2-item", "lost-update"], ["cursor-stability", "update-atomic"],
         evidence=(2, 0)),
    Case("one txn, double write", DOUBLE_WRITE, SS, [], True, []),
    Case("wr process", WR_PROCESS, ["strong-session-snapshot-isolation"], [], False, ["G1c-process"],
         ["strong-session-read-committed"], evidence=(1, 0)),
    Case("RR G-single-item", RR_SINGLE, ["repeatable-read"], [], False, ["G-single-item"],
         ["consistent-view", "repeatable-read"], evidence=(1, 1)),
    Case("RR G-nonadjacent-item", RR_NONADJACENT, ["repeatable-read"], [], False, ["G-nonadjacent-item"],
         ["repeatable-read", "snapshot-isolation"], evidence=(3, 1)),
    Case("future read", FUTURE_READ, ["read-committed"], [], False, ["empty-transaction-graph", "future-read"],
         ["read-committed"], evidence=(0, 0)),
]


def write(ops: list[dict[str, Any]], tmp: Path, encoding: str) -> Path:
    if encoding == "edn":
        path = tmp / "history.edn"
        path.write_text("".join(edn.dumps(o) + "\n" for o in ops))
        return path
    path = tmp / "history.jsonl"
    if encoding == "empty-as-list":
        ops = [dict(o, value=[[f, k, [] if (f == "r" and v is None and o["type"] == "ok") else v]
                              for f, k, v in o["value"]]) for o in ops]
    path.write_text("".join(json.dumps(o) + "\n" for o in ops))
    return path


def verdict(path: Path, case: Case, raw: bool = False) -> dict[str, Any]:
    """The checker's report; `raw`: reads kept as JSON text, the way `test-rig check` reads a file."""
    models = case.models if case.models is not None else None
    ops = iter_history(path, raw_reads=raw)
    report = check_list_append(iter_pairs(ops), model=models, anomalies=case.anomalies).to_dict()
    report["elle_types"] = sorted(set(report["violations"]) | (set(report["anomaly_types"]) & set(UNKNOWN_TYPES)))
    return report


@pytest.mark.parametrize("encoding", ["null", "null-as-text", "empty-as-list", "empty-as-list-as-text", "edn",
                                      "edn-as-text"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_elle_gives_the_same_verdict(case: Case, encoding: str, tmp_path: Path) -> None:
    raw = encoding.endswith("-as-text")
    report = verdict(write(case.history.ops(), tmp_path, encoding.removesuffix("-as-text")), case, raw)
    assert (report["valid"], report["elle_types"]) == (case.valid, sorted(case.types)), report
    if case.not_ is not None:
        assert report["not"] == sorted(case.not_), report


EVIDENT = [c for c in CASES if c.evidence is not None]


@pytest.mark.parametrize("case", EVIDENT, ids=[c.name for c in EVIDENT])
def test_without_its_evidence_the_verdict_changes(case: Case, tmp_path: Path) -> None:
    """The observation that shows the anomaly, taken away (the read not done, the append not made): the
    checker no longer finds what it found, so its finding rested on that observation."""
    assert case.evidence is not None
    ops = case.history.ops()
    completion, mop = case.evidence
    completions = [o for o in ops if o["type"] != "invoke"]
    target = completions[completion]
    invoke = next(o for o in reversed(ops[:ops.index(target)]) if o["process"] == target["process"]
                  and o["type"] == "invoke")
    for o in (target, invoke):
        o["value"] = [m for i, m in enumerate(o["value"]) if i != mop]
    report = verdict(write(ops, tmp_path, "null"), case, raw=True)
    assert (report["valid"], report["elle_types"]) != (case.valid, sorted(case.types)), report
    assert report["valid"] is not False or set(report["elle_types"]) != set(case.types)


def test_an_empty_read_written_as_null_is_evidence_of_g2() -> None:
    """The issue's own example: two transactions that each read a key as nil (never appended) and append to
    the other's key. Dropping the nil reads would call this serializable; it is G2-item."""
    ops = H([(0, "ok", "ax1ry"), (1, "ok", "ay1rx")], concurrent=True).ops()
    from test_rig.history.model import op_from_map

    txns = list(iter_pairs(op_from_map(o, i + 1, "h", i) for i, o in enumerate(ops)))
    report = check_list_append(txns, model="serializable")
    assert report.valid is False and report.violations == ["G2-item"]
    [cycle] = report.anomalies["G2-item"]
    assert cycle["edges"] == ["rw", "rw"]
    assert cycle["steps"][0]["why"].startswith("T1 read key x empty, before T0 appended 1 there")
