"""Every judge on hand-written step logs, for both outcomes. No database: judges only read logs."""

from __future__ import annotations

from typing import Any

import pytest

from test_rig.isolation.catalogue import (
    ALL_TESTS,
    ANOMALY,
    CATALOGUE,
    PREVENTED,
    IsolationTest,
    Observation,
    StepLog,
    judge,
)

Reads = dict[str, dict[int, int]]


def log(name: str, final: dict[int, int], reads: Reads | None = None, errors: dict[int, int] | None = None,
        rowcounts: dict[str, int] | None = None) -> Observation:
    """Build a step log for catalogue test `name`: labelled reads return `reads`, step indexes in
    `errors` fail with that code (their transaction's later steps are skipped)."""
    test: IsolationTest = CATALOGUE[name]
    aborted: set[str] = set()
    logs = []
    for i, step in enumerate(test.steps):
        entry = StepLog(i, step.txn, step.sql, label=step.label)
        if step.txn in aborted:
            entry.skipped = True
        elif errors and i in errors:
            entry.error_code, entry.error = errors[i], "Deadlock found when trying to get lock"
            aborted.add(step.txn)
        else:
            if reads and step.label in reads:
                entry.rows = [[k, v] for k, v in sorted(reads[step.label].items())]
            if rowcounts and step.label in rowcounts:
                entry.rowcount = rowcounts[step.label]
        logs.append(entry)
    return Observation(logs, final)


def index_of(name: str, sql_start: str, txn: str) -> int:
    return next(i for i, s in enumerate(CATALOGUE[name].steps) if s.txn == txn and s.sql.startswith(sql_start))


CASES: list[tuple[str, str, Observation, str]] = [
    ("G0", ANOMALY, log("G0", {1: 12, 2: 21}), "T2 won row 1 but T1 won row 2"),
    ("G0", PREVENTED, log("G0", {1: 12, 2: 22}), "one transaction after the other"),
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
    assert verdict.outcome == outcome, verdict.explanation
    assert words in verdict.explanation


def test_every_test_has_both_outcomes_covered() -> None:
    covered: dict[str, set[str]] = {}
    for name, outcome, _, _ in CASES:
        covered.setdefault(name, set()).add(outcome)
    assert covered == {t.name: {ANOMALY, PREVENTED} for t in ALL_TESTS}


def test_catalogue_names_are_exactly_the_issue_s() -> None:
    assert [t.name for t in ALL_TESTS] == ["G0", "G1a", "G1b", "G1c", "OTV", "PMP", "PMP-write", "P4", "G-single",
                                           "G-single-dependencies", "G-single-write-1", "G-single-write-2",
                                           "G2-item", "G2", "G2-two-edges"]


def test_a_crashing_judge_gives_unknown() -> None:
    def broken(_: Any) -> Any:
        raise ZeroDivisionError("oops")

    test = IsolationTest("X", "x", "x", CATALOGUE["G0"].steps, broken)
    verdict = judge(test, log("G0", {}))
    assert verdict.outcome == "unknown"
    assert verdict.explanation == "the judge failed: ZeroDivisionError: oops"
