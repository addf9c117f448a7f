"""Every judge on hand-written step logs, for both outcomes. No database: judges only read logs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from test_rig.isolation.catalogue import (
    ALL_TESTS,
    ANOMALY,
    CATALOGUE,
    PREVENTED,
    UNDECIDED,
    IsolationTest,
    Observation,
    StepLog,
    judge,
)

Reads = dict[str, dict[int, int]]

#: What the server says with each code, as MariaDB and TiDB word it.
MESSAGES = {1213: "Deadlock found when trying to get lock; try restarting transaction",
            1205: "Lock wait timeout exceeded; try restarting transaction",
            1020: "Record has changed since last read in table 'test'",
            9007: "Write conflict, txnStartTS=1, conflictStartTS=2, reason=Optimistic [try again later]",
            8002: "[tikv:8002]can not retry select for update statement",
            1792: "Cannot execute statement in a READ ONLY transaction",
            1142: "UPDATE command denied to user 'ro'@'localhost' for table 'test'",
            2013: "Lost connection to server during query"}


def log(name: str, final: dict[int, int], reads: Reads | None = None, errors: dict[int, int] | None = None,
        rowcounts: dict[str, int] | None = None, waits: dict[int, int] | None = None,
        timed_out_at: int | None = None, answered_first: bool = False) -> Observation:
    """A step log of catalogue test `name` as the coordinator would record it.

    Labelled reads return `reads`; step indexes in `errors` fail with that code (their transaction's
    later steps are skipped); a step in `waits` was blocked and finished right after the step it maps
    to (with `answered_first`, its answer arrived a moment before that step's own, as TiDB answers a
    write released by a COMMIT before the COMMIT); from `timed_out_at` on, the script timed out (that
    step still blocked, the rest never run). Step i is sent at second i and answered half a second
    later otherwise, as on a server that neither blocks nor aborts.
    """
    test: IsolationTest = CATALOGUE[name]
    aborted: set[str] = set()
    logs = []
    for i, step in enumerate(test.steps):
        fields: dict[str, Any] = {}
        if timed_out_at is not None and i >= timed_out_at:
            if i == timed_out_at:
                fields.update(blocked=True, error="still blocked when the script timed out")
            else:
                fields.update(skipped=True, error="not run: the script timed out")
        elif step.txn in aborted:
            fields.update(skipped=True)
        elif errors and i in errors:
            fields.update(error_code=errors[i], error=MESSAGES[errors[i]])
            aborted.add(step.txn)
        else:
            if reads and step.label in reads:
                fields.update(rows=[[k, v] for k, v in sorted(reads[step.label].items())])
            if rowcounts and step.label in rowcounts:
                fields.update(rowcount=rowcounts[step.label])
        logs.append(StepLog(i, step.txn, step.sql, label=step.label, started=float(i), ended=i + 0.5, **fields))
    order = [e.index for e in logs if not e.skipped and not (e.blocked and e.error)]
    for waiter, after in (waits or {}).items():
        order.remove(waiter)
        position = order.index(after)
        order.insert(position if answered_first else position + 1, waiter)
        done = logs[after]
        assert done.started is not None and done.ended is not None
        logs[waiter] = replace(logs[waiter], ended=done.ended - 0.01 if answered_first else done.ended + 0.01,
                               blocked=True,
                               block_evidence="the server reported a lock wait (information_schema.INNODB_TRX)")
    for position, index in enumerate(order, start=1):
        logs[index] = replace(logs[index], completed_order=position)
    logs = [replace(e, ended=None) if e.skipped or (e.blocked and e.error) else e for e in logs]
    return Observation(logs, final)


def index_of(name: str, sql_start: str, txn: str) -> int:
    return next(i for i, s in enumerate(CATALOGUE[name].steps) if s.txn == txn and s.sql.startswith(sql_start))


def first_write(name: str) -> int:
    return next(i for i, s in enumerate(CATALOGUE[name].steps) if s.sql.split()[0] in ("UPDATE", "INSERT", "DELETE"))


def first_labelled(name: str) -> int:
    return next(i for i, s in enumerate(CATALOGUE[name].steps) if s.label is not None)


CASES: list[tuple[str, str, Observation, str]] = [
    # Without write locks T2's update of row 1 finishes at once; the final state is the same either way.
    ("G0", ANOMALY, log("G0", {1: 12, 2: 22}), "T2 overwrote an uncommitted write"),
    ("G0", PREVENTED, log("G0", {1: 12, 2: 22}, waits={index_of("G0", "UPDATE test SET value = 12", "T2"):
                                                       index_of("G0", "COMMIT", "T1")}),
     "waited until T1 committed; the server reported a lock wait"),
    # TiDB answers the write that T1's COMMIT released a moment before the COMMIT itself.
    ("G0", PREVENTED, log("G0", {1: 12, 2: 22}, waits={index_of("G0", "UPDATE test SET value = 12", "T2"):
                                                       index_of("G0", "COMMIT", "T1")}, answered_first=True),
     "it finished only after T1's COMMIT was sent"),
    ("G0", PREVENTED, log("G0", {1: 11, 2: 21}, errors={index_of("G0", "COMMIT", "T2"): 9007}),
     "T2 was aborted by the server at `COMMIT` with (9007)"),
    ("G1a", ANOMALY, log("G1a", {1: 10, 2: 20}, {"T2 read 1": {1: 101, 2: 20}, "T2 read 2": {1: 10, 2: 20}}),
     "T2 read 1 => 101 written by T1, which later rolled back"),
    ("G1a", PREVENTED, log("G1a", {1: 10, 2: 20}, {"T2 read 1": {1: 10, 2: 20}, "T2 read 2": {1: 10, 2: 20}}),
     "never T1's rolled-back 101"),
    ("G1b", ANOMALY, log("G1b", {1: 11, 2: 20}, {"T2 read 1": {1: 101, 2: 20}, "T2 read 2": {1: 11, 2: 20}}),
     "intermediate value"),
    ("G1b", PREVENTED, log("G1b", {1: 11, 2: 20}, {"T2 read 1": {1: 10, 2: 20}, "T2 read 2": {1: 11, 2: 20}}),
     "never the intermediate 101"),
    ("G1c", ANOMALY, log("G1c", {1: 11, 2: 22}, {"T1 reads 2": {2: 22}, "T2 reads 1": {1: 11}}),
     "information flowed in a circle"),
    ("G1c", PREVENTED, log("G1c", {1: 11, 2: 22}, {"T1 reads 2": {2: 20}, "T2 reads 1": {1: 10}}),
     "neither saw the other's uncommitted write"),
    ("G1c", PREVENTED, log("G1c", {1: 11, 2: 20}, {"T1 reads 2": {2: 20}},
                           errors={index_of("G1c", "SELECT", "T2"): 1213}), "with (1213)"),
    ("OTV", ANOMALY, log("OTV", {1: 12, 2: 18}, {"T3 read 1": {1: 12, 2: 19}, "T3 read 2": {1: 12, 2: 18},
                                                 "T3 read 3": {1: 12, 2: 18}}), "T1's effects vanished"),
    ("OTV", PREVENTED, log("OTV", {1: 12, 2: 18}, {"T3 read 1": {1: 11, 2: 19}, "T3 read 2": {1: 11, 2: 19},
                                                   "T3 read 3": {1: 12, 2: 18}}), "whole transactions"),
    ("PMP", ANOMALY, log("PMP", {1: 10, 2: 20, 3: 30}, {"T1 predicate 1": {}, "T1 predicate 2": {3: 30}}),
     "the predicate's result changed inside T1"),
    ("PMP", PREVENTED, log("PMP", {1: 10, 2: 20, 3: 30}, {"T1 predicate 1": {}, "T1 predicate 2": {}}),
     "T2's insert stayed out"),
    ("PMP-write", ANOMALY, log("PMP-write", {2: 30}, {"T2 read": {2: 20}, "T2 read after delete": {2: 20}}),
     "yet its delete was applied after T1's"),
    ("PMP-write", PREVENTED, log("PMP-write", {2: 30}, {"T2 read": {1: 20}, "T2 read after delete": {2: 30}}),
     "agrees with one transaction running after the other"),
    ("P4", ANOMALY, log("P4", {1: 11, 2: 20}, {"T1 read": {1: 10}, "T2 read": {1: 10}}), "lost update"),
    ("P4", PREVENTED, log("P4", {1: 11, 2: 20}, {"T1 read": {1: 10}, "T2 read": {1: 10}},
                          errors={index_of("P4", "UPDATE", "T2"): 1213}), "T2 was aborted"),
    ("G-single", ANOMALY, log("G-single", {1: 12, 2: 18}, {"T1 reads 1": {1: 10}, "T1 reads 2": {2: 18}}),
     "read skew"),
    ("G-single", PREVENTED, log("G-single", {1: 12, 2: 18}, {"T1 reads 1": {1: 10}, "T1 reads 2": {2: 20}}),
     "a consistent snapshot"),
    ("G-single-dependencies", ANOMALY,
     log("G-single-dependencies", {1: 12, 2: 20}, {"T1 predicate 1": {1: 10, 2: 20}, "T1 predicate 2": {1: 12}}),
     "T1 read both before and after T2"),
    ("G-single-dependencies", PREVENTED,
     log("G-single-dependencies", {1: 12, 2: 20}, {"T1 predicate 1": {1: 10, 2: 20}, "T1 predicate 2": {}}),
     "never T2's 12"),
    ("G-single-write-1", ANOMALY,
     log("G-single-write-1", {1: 12, 2: 18}, {"T1 reads 1": {1: 10}, "T2 reads all": {1: 10, 2: 20},
                                              "T1 reads 2": {2: 20}}, rowcounts={"T1 delete": 0}),
     "only T1 then T2 could explain it"),
    ("G-single-write-1", PREVENTED,
     log("G-single-write-1", {1: 12, 2: 18}, {"T1 reads 1": {1: 12}, "T2 reads all": {1: 10, 2: 20},
                                              "T1 reads 2": {2: 18}}, rowcounts={"T1 delete": 0}),
     "exactly T2 then T1"),
    ("G-single-write-2", ANOMALY,
     log("G-single-write-2", {1: 12, 2: 18}, {"T1 reads 1": {1: 10}, "T2 reads all": {1: 10, 2: 20}},
         rowcounts={"T1 delete": 0}), "only T1 then T2 could explain it"),
    ("G-single-write-2", PREVENTED,
     log("G-single-write-2", {1: 12, 2: 18}, {"T1 reads 1": {1: 10}, "T2 reads all": {1: 10, 2: 20}},
         errors={index_of("G-single-write-2", "DELETE", "T1"): 1213}), "T1 was aborted by the server"),
    ("G2-item", ANOMALY, log("G2-item", {1: 11, 2: 21}, {"T1 read": {1: 10, 2: 20}, "T2 read": {1: 10, 2: 20}}),
     "write skew"),
    ("G2-item", PREVENTED, log("G2-item", {1: 11, 2: 20}, {"T1 read": {1: 10, 2: 20}, "T2 read": {1: 10, 2: 20}},
                               errors={index_of("G2-item", "UPDATE", "T2"): 1213}), "T2 was aborted"),
    ("G2", ANOMALY, log("G2", {1: 10, 2: 20, 3: 30, 4: 42}, {"T1 predicate": {}, "T2 predicate": {}}),
     "each should have seen the other's row"),
    ("G2", PREVENTED, log("G2", {1: 10, 2: 20, 3: 30}, {"T1 predicate": {}, "T2 predicate": {}},
                          errors={index_of("G2", "INSERT", "T2"): 1213}), "T2 was aborted"),
    ("G2-two-edges", ANOMALY,
     log("G2-two-edges", {1: 0, 2: 25}, {"T1 read": {1: 10, 2: 20}, "T3 read": {1: 10, 2: 25}}), "is a cycle"),
    ("G2-two-edges", PREVENTED,
     log("G2-two-edges", {1: 0, 2: 25}, {"T1 read": {1: 10, 2: 20}, "T3 read": {1: 10, 2: 20}}),
     "consistent with a serial order"),
]


@pytest.mark.parametrize(("name", "outcome", "obs", "words"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_judge(name: str, outcome: str, obs: Observation, words: str) -> None:
    verdict = judge(CATALOGUE[name], obs)
    assert verdict.outcome == outcome, verdict.reason
    assert words in verdict.reason


def test_every_test_has_both_outcomes_covered() -> None:
    covered: dict[str, set[str]] = {}
    for name, outcome, _, _ in CASES:
        covered.setdefault(name, set()).add(outcome)
    assert covered == {t.name: {ANOMALY, PREVENTED} for t in ALL_TESTS}


@pytest.mark.parametrize("name", [t.name for t in ALL_TESTS])
def test_a_read_only_session_is_undecided_not_prevented(name: str) -> None:
    """`--session-var tx_read_only=1`: every write fails with 1792, which is no concurrency control."""
    verdict = judge(CATALOGUE[name], log(name, {1: 10, 2: 20}, errors={first_write(name): 1792}))
    assert verdict.outcome == UNDECIDED, verdict.reason
    assert "failed with (1792) Cannot execute statement in a READ ONLY transaction, which is not concurrency " \
           "control refusing the transaction" in verdict.reason


@pytest.mark.parametrize("code", [1142, 2013])
@pytest.mark.parametrize("name", [t.name for t in ALL_TESTS])
def test_errors_that_are_not_concurrency_control_are_undecided(name: str, code: int) -> None:
    verdict = judge(CATALOGUE[name], log(name, {1: 10, 2: 20}, errors={first_write(name): code}))
    assert verdict.outcome == UNDECIDED, verdict.reason
    assert f"failed with ({code}) {MESSAGES[code]}" in verdict.reason


@pytest.mark.parametrize("name", [t.name for t in ALL_TESTS])
def test_a_script_that_timed_out_is_undecided(name: str) -> None:
    verdict = judge(CATALOGUE[name], log(name, {1: 10, 2: 20}, timed_out_at=first_labelled(name)))
    assert verdict.outcome == UNDECIDED, verdict.reason
    assert "still blocked when the script timed out" in verdict.reason


@pytest.mark.parametrize("name", [t.name for t in ALL_TESTS if t.name != "G0"])  # G0 judges by order, not reads
def test_reads_that_returned_nothing_are_undecided(name: str) -> None:
    """A labelled read that ran but returned no result set (rows None) is no evidence."""
    obs = log(name, {1: 10, 2: 20})
    obs.steps[:] = [replace(s, rows=None) if s.label is not None and s.sql.startswith("SELECT") else s
                    for s in obs.steps]
    verdict = judge(CATALOGUE[name], obs)
    assert verdict.outcome == UNDECIDED, verdict.reason
    assert "returned nothing (not run), so there is no evidence either way" in verdict.reason


@pytest.mark.parametrize("code", [1213, 1205, 1020, 9007, 8002])
def test_every_concurrency_control_code_is_evidence_of_prevention(code: int) -> None:
    reads = {"T1 read": {1: 10}, "T2 read": {1: 10}}
    verdict = judge(CATALOGUE["P4"], log("P4", {1: 11, 2: 20}, reads, errors={index_of("P4", "UPDATE", "T2"): code}))
    assert verdict.outcome == PREVENTED
    assert f"T2 was aborted by the server at `UPDATE test SET value = 11 WHERE id = 1` with ({code})" in \
        verdict.reason


def test_g0_without_the_step_times_is_undecided() -> None:
    """If the step times were not recorded, the judge cannot tell whether T2 waited."""
    obs = log("G0", {1: 12, 2: 22})
    obs.steps[:] = [replace(s, started=None, ended=None) for s in obs.steps]
    verdict = judge(CATALOGUE["G0"], obs)
    assert verdict.outcome == UNDECIDED
    assert verdict.reason == "when T2's write finished and T1's COMMIT was sent was not recorded"


def test_catalogue_names_are_exactly_the_issue_s() -> None:
    assert [t.name for t in ALL_TESTS] == ["G0", "G1a", "G1b", "G1c", "OTV", "PMP", "PMP-write", "P4", "G-single",
                                           "G-single-dependencies", "G-single-write-1", "G-single-write-2",
                                           "G2-item", "G2", "G2-two-edges"]


def test_a_crashing_judge_gives_unknown() -> None:
    def broken(_: Any) -> Any:
        raise ZeroDivisionError("oops")

    test = IsolationTest("X", "x", "x", CATALOGUE["G0"].steps, broken)
    verdict = judge(test, log("G0", {}))
    assert verdict.outcome == UNDECIDED
    assert verdict.reason == "the judge failed: ZeroDivisionError: oops"
