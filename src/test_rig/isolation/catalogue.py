"""The anomaly catalogue after Hermitage: each test is setup-free steps in a global order and a judge.

Setup is Hermitage's: `create table test (id int primary key, value int)` holding (1, 10), (2, 20),
in a schema of the run's own. A judge decides only from an Observation: what each read returned,
which statements failed (and with which code), which steps waited for which, which transactions
committed, and the final table. No judge knows which server or level it is looking at.

A judge returns a results.Verdict: valid, invalid or unknown, shown as results.CELL's words (`prevented`,
`anomaly`, `undecided`), with the evidence. `anomaly` needs the anomaly seen; `prevented` needs the protection
seen: the steps the anomaly needs ran, and the reads did not show the forbidden value, or a
conflicting write waited until the other transaction ended, or concurrency control aborted a
transaction (an error in errors.CONCURRENCY_CONTROL_CODES). Anything else (another error, a step
that never ran, a script that timed out) is `undecided`, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from test_rig.coordinator import StepRecord
from test_rig.errors import CONCURRENCY_CONTROL_CODES, is_concurrency_abort
from test_rig.results import CELL, Validity, Verdict

PREVENTED = CELL.valid
ANOMALY = CELL.invalid
UNDECIDED = CELL.unknown
#: A cell the server refused the level of: nothing was judged (unknown, but not an undecided cell of the run).
UNSUPPORTED = "unsupported"

SETUP = (
    "CREATE TABLE test (id INT PRIMARY KEY, value INT) ENGINE=InnoDB",
    "INSERT INTO test (id, value) VALUES (1, 10), (2, 20)",
)


@dataclass(frozen=True)
class TxnStep:
    txn: str
    sql: str
    label: str | None = None


#: What one step did: the judge's only input besides the final table. It is the coordinator's own
#: record (unit tests write them by hand), so a history can be judged again from a JSON report.
StepLog = StepRecord


def prevented(reason: str) -> Verdict:
    """The protection seen (valid), with the evidence."""
    return CELL(Validity.VALID, reason)


def anomaly(reason: str) -> Verdict:
    """The anomaly seen (invalid), with the evidence."""
    return CELL(Validity.INVALID, reason)


def undecided(reason: str) -> Verdict:
    """Neither seen (unknown), with why not."""
    return CELL(Validity.UNKNOWN, reason)


def show(state: Mapping[int, int] | None) -> str:
    if state is None:
        return "nothing (not run)"
    if not state:
        return "no rows"
    return ", ".join(f"{k} => {v}" for k, v in sorted(state.items()))


@dataclass
class Observation:
    steps: list[StepLog]
    final: dict[int, int]

    def step(self, label: str) -> StepLog:
        for s in self.steps:
            if s.label == label:
                return s
        raise KeyError(f"no step labelled {label!r}")

    def read(self, label: str) -> dict[int, int] | None:
        """The rows a labelled SELECT returned, as {id: value}; None if it did not run."""
        s = self.step(label)
        if not s.ran or s.rows is None:
            return None
        return {int(r[0]): int(r[1]) for r in s.rows}

    def abort(self, txn: str) -> StepLog | None:
        """The step whose error aborted `txn`, if one did."""
        return next((s for s in self.steps if s.txn == txn and s.error is not None), None)

    def committed(self, txn: str) -> bool:
        ends = [s for s in self.steps if s.txn == txn and s.sql.strip().upper().startswith("COMMIT")]
        return bool(ends) and all(s.ran for s in ends) and self.abort(txn) is None

    def aborted_verdict(self) -> Verdict | None:
        """The verdict that failed steps force, if any step failed.

        `undecided` when a step failed for a reason other than concurrency control (a read-only
        session, a missing privilege, a lost connection, a step still blocked or never run when the
        script timed out): such a run cannot show whether the server prevents the anomaly.
        `prevented` when concurrency control aborted a transaction: that abort is the protection.
        """
        failed = [s for s in self.steps if s.error is not None]
        for s in failed:
            if not is_concurrency_abort(s.error_code):
                return undecided(f"{s.txn}'s `{s.sql}` {failure(s)}, which is not concurrency control "
                                 "refusing the transaction, so this run cannot show whether the anomaly "
                                 "is prevented")
        if failed:
            s = failed[0]
            return prevented(f"{s.txn} was aborted by the server at `{s.sql}` with ({s.error_code}) "
                             f"{s.error} ({CONCURRENCY_CONTROL_CODES[s.error_code or 0]}), so the anomaly "
                             "could not commit")
        return None

    def require(self, *labels: str, committed: tuple[str, ...] = ()) -> Verdict | None:
        """`undecided` unless every labelled read returned rows and the named transactions committed:
        without them the run holds no evidence either way."""
        missing = [label for label in labels if self.read(label) is None]
        if missing:
            return undecided(f"{', '.join(missing)} returned nothing (not run), so there is no evidence "
                             "either way")
        unfinished = [t for t in committed if not self.committed(t)]
        if unfinished:
            return undecided(f"{' and '.join(unfinished)} did not commit, so the anomaly had no chance "
                             "to show")
        return None

    def finished_before_sent(self, step: StepLog, other: StepLog) -> bool:
        """Whether `step` finished before `other` was sent to the server (both times recorded)."""
        return step.ended is not None and other.started is not None and step.ended < other.started

    def finished_after_sent(self, step: StepLog, other: StepLog) -> bool:
        """Whether `step` finished only after `other` was sent: it waited for `other`."""
        return step.ended is not None and other.started is not None and step.ended >= other.started


def failure(s: StepLog) -> str:
    """How a failed step failed, in words."""
    if s.error_code is not None:
        return f"failed with ({s.error_code}) {s.error}"
    return f"failed: {s.error}"


Judge = Callable[[Observation], Verdict]


@dataclass(frozen=True)
class IsolationTest:
    name: str
    title: str
    summary: str  # one line, for the README and --explain
    steps: tuple[TxnStep, ...]
    judge: Judge
    txns: tuple[str, ...] = field(default=())

    @property
    def transactions(self) -> tuple[str, ...]:
        return self.txns or tuple(sorted({s.txn for s in self.steps}))


def _t(txn: str, sql: str, label: str | None = None) -> TxnStep:
    return TxnStep(txn, sql, label)


def _begin(*txns: str) -> list[TxnStep]:
    return [_t(t, "BEGIN") for t in txns]


# --------------------------------------------------------------------------- G0


def judge_g0(o: Observation) -> Verdict:
    # In this script the second writer always wins both rows, so the final state shows nothing: what
    # shows a dirty write is T2's write to row 1 finishing while T1, which wrote row 1 first, was open,
    # i.e. before T1's COMMIT was even sent. (A write released by that COMMIT may be answered a moment
    # before the COMMIT itself is: finishing after the COMMIT was sent is waiting for it.)
    write, t1_commit = o.step("T2 writes 1"), o.step("T1 commit")
    if (write.ran and o.committed("T1") and o.committed("T2")
            and o.finished_before_sent(write, t1_commit)):
        return anomaly("T2's update of row 1 finished while T1, which had updated row 1 first, was still "
                       "open (before T1's COMMIT was sent), and both committed (final "
                       f"{show(o.final)}): T2 overwrote an uncommitted write")
    if (forced := o.aborted_verdict()) is not None:
        return forced
    if not (o.committed("T1") and o.committed("T2")):
        return undecided("the transactions did not both commit, so there is no evidence either way")
    if not o.finished_after_sent(write, t1_commit):
        return undecided("when T2's write finished and T1's COMMIT was sent was not recorded")
    return prevented(f"T2's update of row 1 waited until T1 committed{wait_evidence(write)} (it finished "
                     f"only after T1's COMMIT was sent); final {show(o.final)}")


def wait_evidence(s: StepLog) -> str:
    if s.block_evidence:
        return f"; {s.block_evidence}"
    return ""


G0 = IsolationTest("G0", "Write Cycles (dirty writes)",
                   "two transactions update the same two rows; each must win both or neither",
                   (*_begin("T1", "T2"),
                    _t("T1", "UPDATE test SET value = 11 WHERE id = 1"),
                    _t("T2", "UPDATE test SET value = 12 WHERE id = 1", "T2 writes 1"),
                    _t("T1", "UPDATE test SET value = 21 WHERE id = 2"),
                    _t("T1", "COMMIT", "T1 commit"),
                    _t("T2", "UPDATE test SET value = 22 WHERE id = 2"),
                    _t("T2", "COMMIT")), judge_g0)


# --------------------------------------------------------------------------- G1a, G1b, G1c


def judge_g1a(o: Observation) -> Verdict:
    for label in ("T2 read 1", "T2 read 2"):
        seen = o.read(label)
        if seen and seen.get(1) == 101 and o.committed("T2"):
            return anomaly(f"T2 read 1 => 101 written by T1, which later rolled back ({label}: {show(seen)})")
    if (forced := o.aborted_verdict() or o.require("T2 read 1", "T2 read 2")) is not None:
        return forced
    return prevented(f"T2 read {show(o.read('T2 read 1'))}, then {show(o.read('T2 read 2'))}: never T1's "
                     "rolled-back 101")


G1A = IsolationTest("G1a", "Aborted Reads (dirty reads, cascaded aborts)",
                    "a transaction must never see a write that is later rolled back",
                    (*_begin("T1", "T2"),
                     _t("T1", "UPDATE test SET value = 101 WHERE id = 1"),
                     _t("T2", "SELECT id, value FROM test", "T2 read 1"),
                     _t("T1", "ROLLBACK"),
                     _t("T2", "SELECT id, value FROM test", "T2 read 2"),
                     _t("T2", "COMMIT")), judge_g1a)


def judge_g1b(o: Observation) -> Verdict:
    seen = o.read("T2 read 1")
    if seen and seen.get(1) == 101 and o.committed("T2"):
        return anomaly("T2 read 1 => 101, an intermediate value T1 overwrote with 11 before committing")
    if (forced := o.aborted_verdict() or o.require("T2 read 1", "T2 read 2")) is not None:
        return forced
    return prevented(f"T2 read {show(seen)} while T1 was in progress, then {show(o.read('T2 read 2'))}: "
                     "never the intermediate 101")


G1B = IsolationTest("G1b", "Intermediate Reads (dirty reads)",
                    "a transaction must never see a value another transaction overwrote before committing",
                    (*_begin("T1", "T2"),
                     _t("T1", "UPDATE test SET value = 101 WHERE id = 1"),
                     _t("T2", "SELECT id, value FROM test", "T2 read 1"),
                     _t("T1", "UPDATE test SET value = 11 WHERE id = 1"),
                     _t("T1", "COMMIT"),
                     _t("T2", "SELECT id, value FROM test", "T2 read 2"),
                     _t("T2", "COMMIT")), judge_g1b)


def judge_g1c(o: Observation) -> Verdict:
    t1, t2 = o.read("T1 reads 2"), o.read("T2 reads 1")
    if t1 and t2 and t1.get(2) == 22 and t2.get(1) == 11 and o.committed("T1") and o.committed("T2"):
        return anomaly("T1 read 2 => 22 from T2 and T2 read 1 => 11 from T1, both before either "
                       "committed: information flowed in a circle")
    return o.aborted_verdict() or o.require("T1 reads 2", "T2 reads 1") or prevented(
        f"T1 read {show(t1)} and T2 read {show(t2)}: neither saw the other's uncommitted write")


G1C = IsolationTest("G1c", "Circular Information Flow (dirty reads)",
                    "two transactions must not each read the other's uncommitted write",
                    (*_begin("T1", "T2"),
                     _t("T1", "UPDATE test SET value = 11 WHERE id = 1"),
                     _t("T2", "UPDATE test SET value = 22 WHERE id = 2"),
                     _t("T1", "SELECT id, value FROM test WHERE id = 2", "T1 reads 2"),
                     _t("T2", "SELECT id, value FROM test WHERE id = 1", "T2 reads 1"),
                     _t("T1", "COMMIT"),
                     _t("T2", "COMMIT")), judge_g1c)


# --------------------------------------------------------------------------- OTV


def judge_otv(o: Observation) -> Verdict:
    # Versions: row 1 is 10, then 11 (T1), then 12 (T2); row 2 is 20, then 19 (T1), then 18 (T2).
    writer = {(1, 11): "T1", (1, 12): "T2", (2, 19): "T1", (2, 18): "T2"}
    reads = [(label, o.read(label)) for label in ("T3 read 1", "T3 read 2", "T3 read 3")]
    seen_t2 = False
    for label, state in reads:
        if not state:
            continue
        who = {row: writer.get((row, value)) for row, value in state.items()}
        if ("T2" in who.values() and "T1" in who.values()) or (seen_t2 and "T2" not in who.values()):
            return anomaly(f"T3 ({label}) read {show(state)}: it saw T2's write on one row while T1's "
                           "value, which T2 overwrites, stood on the other, so T1's effects vanished")
        seen_t2 = seen_t2 or "T2" in who.values()
    if (forced := o.aborted_verdict() or o.require("T3 read 1", "T3 read 2", "T3 read 3",
                                                   committed=("T1", "T2"))) is not None:
        return forced
    return prevented("T3 read " + "; then ".join(show(s) for _, s in reads) +
                   ": every read saw whole transactions")


OTV = IsolationTest("OTV", "Observed Transaction Vanishes",
                    "once a reader sees a transaction's write, that transaction's other effects must not vanish",
                    (*_begin("T1", "T2", "T3"),
                     _t("T1", "UPDATE test SET value = 11 WHERE id = 1"),
                     _t("T1", "UPDATE test SET value = 19 WHERE id = 2"),
                     _t("T2", "UPDATE test SET value = 12 WHERE id = 1"),
                     _t("T1", "COMMIT"),
                     _t("T3", "SELECT id, value FROM test", "T3 read 1"),
                     _t("T2", "UPDATE test SET value = 18 WHERE id = 2"),
                     _t("T3", "SELECT id, value FROM test", "T3 read 2"),
                     _t("T2", "COMMIT"),
                     _t("T3", "SELECT id, value FROM test", "T3 read 3"),
                     _t("T3", "COMMIT")), judge_otv)


# --------------------------------------------------------------------------- PMP


def judge_pmp(o: Observation) -> Verdict:
    first, second = o.read("T1 predicate 1"), o.read("T1 predicate 2")
    if first is not None and second is not None and 3 not in first and 3 in second and o.committed("T1"):
        return anomaly("T1's predicate read found no row with value 30, then found T2's row 3 => 30: "
                       "the predicate's result changed inside T1")
    return o.aborted_verdict() or o.require("T1 predicate 1", "T1 predicate 2", committed=("T2",)) or prevented(
        f"T1's predicate reads returned {show(first)} and then {show(second)}: T2's insert stayed out")


PMP = IsolationTest("PMP", "Predicate-Many-Preceders (read predicates)",
                    "a predicate read repeated in one transaction must not pick up rows another transaction inserted",
                    (*_begin("T1", "T2"),
                     _t("T1", "SELECT id, value FROM test WHERE value = 30", "T1 predicate 1"),
                     _t("T2", "INSERT INTO test (id, value) VALUES (3, 30)"),
                     _t("T2", "COMMIT"),
                     _t("T1", "SELECT id, value FROM test WHERE value % 3 = 0", "T1 predicate 2"),
                     _t("T1", "COMMIT")), judge_pmp)


def judge_pmp_write(o: Observation) -> Verdict:
    # T1 adds 10 to every row. T2 reads, then deletes rows whose value is 20, then reads again.
    # One after the other, T2 then T1 leaves {1 => 20}; T1 then T2 leaves {2 => 30}.
    early = o.read("T2 read")
    if (forced := o.aborted_verdict() or o.require("T2 read", committed=("T1", "T2"))) is not None:
        return forced
    assert early is not None
    saw_before_t1 = early.get(2) == 20 or early.get(1) == 10
    later = o.read("T2 read after delete")
    if saw_before_t1 and o.final != {1: 20}:
        return anomaly(f"T2 read {show(early)} (before T1's update), so it must come before T1, yet its "
                       f"delete was applied after T1's: final state {show(o.final)}, "
                       f"T2 then read {show(later)}")
    if not saw_before_t1 and o.final != {2: 30}:
        return anomaly(f"T2 read {show(early)} (after T1's update) but the final state is {show(o.final)}")
    return prevented(f"T2 read {show(early)} and the final state {show(o.final)} agrees with one "
                     "transaction running after the other")


PMP_WRITE = IsolationTest("PMP-write", "Predicate-Many-Preceders (write predicates)",
                          "a delete by predicate must act on the same versions the transaction read",
                          (*_begin("T1", "T2"),
                           _t("T1", "UPDATE test SET value = value + 10"),
                           _t("T2", "SELECT id, value FROM test WHERE value = 20", "T2 read"),
                           _t("T2", "DELETE FROM test WHERE value = 20", "T2 delete"),
                           _t("T1", "COMMIT"),
                           _t("T2", "SELECT id, value FROM test", "T2 read after delete"),
                           _t("T2", "COMMIT")), judge_pmp_write)


# --------------------------------------------------------------------------- P4


def judge_p4(o: Observation) -> Verdict:
    r1, r2 = o.read("T1 read"), o.read("T2 read")
    if (forced := o.aborted_verdict() or o.require("T1 read", "T2 read", committed=("T1", "T2"))) is not None:
        return forced
    if r1 and r2 and r1.get(1) == 10 and r2.get(1) == 10 and o.committed("T1") and o.committed("T2"):
        return anomaly("T1 and T2 both read 1 => 10 and both committed an update of it: the update "
                       "that committed first was overwritten without being seen (lost update)")
    return prevented(f"T1 read {show(r1)}, T2 read {show(r2)}: no update was lost")


P4 = IsolationTest("P4", "Lost Update",
                   "two read-modify-write transactions on one row must not both commit from the same read",
                   (*_begin("T1", "T2"),
                    _t("T1", "SELECT id, value FROM test WHERE id = 1", "T1 read"),
                    _t("T2", "SELECT id, value FROM test WHERE id = 1", "T2 read"),
                    _t("T1", "UPDATE test SET value = 11 WHERE id = 1"),
                    _t("T2", "UPDATE test SET value = 11 WHERE id = 1"),
                    _t("T1", "COMMIT"),
                    _t("T2", "COMMIT")), judge_p4)


# --------------------------------------------------------------------------- G-single and its variants


def judge_g_single(o: Observation) -> Verdict:
    a, b = o.read("T1 reads 1"), o.read("T1 reads 2")
    if a and b and a.get(1) == 10 and b.get(2) == 18 and o.committed("T2"):
        return anomaly("T1 read 1 => 10 (before T2) and then 2 => 18 (after T2): read skew")
    return o.aborted_verdict() or o.require("T1 reads 1", "T1 reads 2", committed=("T2",)) or prevented(
        f"T1 read {show(a)} and then {show(b)}: a consistent snapshot")


_G_SINGLE_T2 = (
    _t("T2", "SELECT id, value FROM test WHERE id = 1"),
    _t("T2", "SELECT id, value FROM test WHERE id = 2"),
    _t("T2", "UPDATE test SET value = 12 WHERE id = 1"),
    _t("T2", "UPDATE test SET value = 18 WHERE id = 2"),
    _t("T2", "COMMIT"),
)

G_SINGLE = IsolationTest("G-single", "Single Anti-dependency Cycles (read skew), read-only",
                         "a read-only transaction must not see part of another transaction's writes",
                         (*_begin("T1", "T2"),
                          _t("T1", "SELECT id, value FROM test WHERE id = 1", "T1 reads 1"),
                          *_G_SINGLE_T2,
                          _t("T1", "SELECT id, value FROM test WHERE id = 2", "T1 reads 2"),
                          _t("T1", "COMMIT")), judge_g_single)


def judge_g_single_dependencies(o: Observation) -> Verdict:
    first, second = o.read("T1 predicate 1"), o.read("T1 predicate 2")
    if first and first.get(1) == 10 and second is not None and second.get(1) == 12 and o.committed("T2"):
        return anomaly("T1's first predicate read saw 1 => 10, its second saw T2's 1 => 12: T1 read "
                       "both before and after T2")
    return o.aborted_verdict() or o.require("T1 predicate 1", "T1 predicate 2", committed=("T2",)) or prevented(
        f"T1's predicate reads returned {show(first)} and then {show(second)}: never T2's 12")


G_SINGLE_DEPENDENCIES = IsolationTest(
    "G-single-dependencies", "Read skew through predicate dependencies",
    "a predicate read must not see a write that an earlier read in the same transaction did not",
    (*_begin("T1", "T2"),
     _t("T1", "SELECT id, value FROM test WHERE value % 5 = 0", "T1 predicate 1"),
     _t("T2", "UPDATE test SET value = 12 WHERE value = 10"),
     _t("T2", "COMMIT"),
     _t("T1", "SELECT id, value FROM test WHERE value % 3 = 0", "T1 predicate 2"),
     _t("T1", "COMMIT")), judge_g_single_dependencies)


def judge_g_single_write(o: Observation) -> Verdict:
    """Both write-predicate read-skew tests (two interleavings of T1's read-then-delete with T2's writes),
    judged against the one serial order T1's first read allows.

    T2 sets 1 => 12 and 2 => 18; T1 reads row 1, then deletes rows whose value is 20. If T1 read
    1 => 10 it must come first, and then: its delete removes row 2, T2 sees only 1 => 10, and the
    final state is 1 => 12. If T1 read 1 => 12 it must come second: its delete removes nothing, T2
    sees both original rows, and the final state is 1 => 12, 2 => 18.
    """
    if (forced := o.aborted_verdict() or o.require("T1 reads 1", "T2 reads all",
                                                   committed=("T1", "T2"))) is not None:
        return forced
    t1_read, t2_read, delete = o.read("T1 reads 1"), o.read("T2 reads all"), o.step("T1 delete")
    if t1_read and t1_read.get(1) == 10:
        order, expected = "T1 then T2", (1, {1: 10}, {1: 12})
    elif t1_read and t1_read.get(1) == 12:
        order, expected = "T2 then T1", (0, {1: 10, 2: 20}, {1: 12, 2: 18})
    else:
        return anomaly(f"T1 read {show(t1_read)}, a value neither order produces")
    actual = (delete.rowcount, t2_read, o.final)
    if actual == expected:
        return prevented(f"T1 read {show(t1_read)}; its delete removed {delete.rowcount} row(s), T2 read "
                         f"{show(t2_read)}, final {show(o.final)}: exactly {order}")
    return anomaly(f"T1 read {show(t1_read)}, so only {order} could explain it, which would have T1's "
                   f"delete remove {expected[0]} row(s), T2 read {show(expected[1])} and leave "
                   f"{show(expected[2])}; instead the delete removed {delete.rowcount}, T2 read "
                   f"{show(t2_read)} and the final state is {show(o.final)}")


G_SINGLE_WRITE_1 = IsolationTest(
    "G-single-write-1", "Read skew on a write predicate (T2 commits first)",
    "a write by predicate must act on the same snapshot the transaction read",
    (*_begin("T1", "T2"),
     _t("T1", "SELECT id, value FROM test WHERE id = 1", "T1 reads 1"),
     _t("T2", "SELECT id, value FROM test", "T2 reads all"),
     _t("T2", "UPDATE test SET value = 12 WHERE id = 1"),
     _t("T2", "UPDATE test SET value = 18 WHERE id = 2"),
     _t("T2", "COMMIT"),
     _t("T1", "DELETE FROM test WHERE value = 20", "T1 delete"),
     _t("T1", "SELECT id, value FROM test WHERE id = 2", "T1 reads 2"),
     _t("T1", "COMMIT")), judge_g_single_write)


G_SINGLE_WRITE_2 = IsolationTest(
    "G-single-write-2", "Read skew on a write predicate (T1 writes while T2 is open)",
    "a write by predicate must not slip between another transaction's read and write",
    (*_begin("T1", "T2"),
     _t("T1", "SELECT id, value FROM test WHERE id = 1", "T1 reads 1"),
     _t("T2", "SELECT id, value FROM test", "T2 reads all"),
     _t("T2", "UPDATE test SET value = 12 WHERE id = 1"),
     _t("T1", "DELETE FROM test WHERE value = 20", "T1 delete"),
     _t("T2", "UPDATE test SET value = 18 WHERE id = 2"),
     _t("T1", "COMMIT"),
     _t("T2", "COMMIT")), judge_g_single_write)


# --------------------------------------------------------------------------- G2-item, G2, G2-two-edges


def judge_g2_item(o: Observation) -> Verdict:
    r1, r2 = o.read("T1 read"), o.read("T2 read")
    if (forced := o.aborted_verdict() or o.require("T1 read", "T2 read", committed=("T1", "T2"))) is not None:
        return forced
    if (r1 and r2 and r1.get(2) == 20 and r2.get(1) == 10 and o.committed("T1") and o.committed("T2")):
        return anomaly(f"T1 read 2 => 20 and T2 read 1 => 10, each then changed the row the other had "
                       f"read, and both committed (final {show(o.final)}): write skew")
    return prevented(f"T1 read {show(r1)}, T2 read {show(r2)}: no write skew committed")


G2_ITEM = IsolationTest("G2-item", "Item Anti-dependency Cycles (write skew on disjoint read)",
                        "two transactions must not each change a row the other read and both commit",
                        (*_begin("T1", "T2"),
                         _t("T1", "SELECT id, value FROM test WHERE id IN (1, 2)", "T1 read"),
                         _t("T2", "SELECT id, value FROM test WHERE id IN (1, 2)", "T2 read"),
                         _t("T1", "UPDATE test SET value = 11 WHERE id = 1"),
                         _t("T2", "UPDATE test SET value = 21 WHERE id = 2"),
                         _t("T1", "COMMIT"),
                         _t("T2", "COMMIT")), judge_g2_item)


def judge_g2(o: Observation) -> Verdict:
    r1, r2 = o.read("T1 predicate"), o.read("T2 predicate")
    if (forced := o.aborted_verdict() or o.require("T1 predicate", "T2 predicate",
                                                   committed=("T1", "T2"))) is not None:
        return forced
    if r1 == {} and r2 == {} and o.committed("T1") and o.committed("T2") and {3, 4} <= set(o.final):
        return anomaly("T1 and T2 each found no row with value % 3 = 0, each inserted one, and both "
                       f"committed (final {show(o.final)}): each should have seen the other's row")
    return prevented(f"T1's predicate read {show(r1)}, T2's {show(r2)}; final {show(o.final)}")


G2 = IsolationTest("G2", "Anti-Dependency Cycles (write skew on predicate read)",
                   "two transactions must not each insert a row matching the other's empty predicate read",
                   (*_begin("T1", "T2"),
                    _t("T1", "SELECT id, value FROM test WHERE value % 3 = 0", "T1 predicate"),
                    _t("T2", "SELECT id, value FROM test WHERE value % 3 = 0", "T2 predicate"),
                    _t("T1", "INSERT INTO test (id, value) VALUES (3, 30)"),
                    _t("T2", "INSERT INTO test (id, value) VALUES (4, 42)"),
                    _t("T1", "COMMIT"),
                    _t("T2", "COMMIT")), judge_g2)


def judge_g2_two_edges(o: Observation) -> Verdict:
    # T1 read 2 => 20 before T2's +5: T1 precedes T2. T3 saw T2's 25: T2 precedes T3. T3 read
    # 1 => 10 before T1 set it to 0: T3 precedes T1. All three committing closes the cycle.
    r1, r3 = o.read("T1 read"), o.read("T3 read")
    if (forced := o.aborted_verdict() or o.require("T1 read", "T3 read",
                                                   committed=("T1", "T2", "T3"))) is not None:
        return forced
    if (r1 and r3 and r1.get(2) == 20 and r3.get(2) == 25 and r3.get(1) == 10
            and all(o.committed(t) for t in ("T1", "T2", "T3"))):
        return anomaly("T1 read 2 => 20 (before T2), T3 read 2 => 25 (after T2) but 1 => 10 (before T1): "
                       "T1 → T2 → T3 → T1 is a cycle of two anti-dependencies and a read")
    return prevented(f"T1 read {show(r1)} and read-only T3 read {show(r3)}: consistent with a serial order")


G2_TWO_EDGES = IsolationTest(
    "G2-two-edges", "Anti-dependency cycle with two edges (Fekete et al.)",
    "a read-only transaction must not see a state no serial order produces",
    (_t("T1", "BEGIN"),
     _t("T1", "SELECT id, value FROM test", "T1 read"),
     _t("T2", "BEGIN"),
     _t("T2", "UPDATE test SET value = value + 5 WHERE id = 2"),
     _t("T2", "COMMIT"),
     _t("T3", "BEGIN"),
     _t("T3", "SELECT id, value FROM test", "T3 read"),
     _t("T3", "COMMIT"),
     _t("T1", "UPDATE test SET value = 0 WHERE id = 1"),
     _t("T1", "COMMIT")), judge_g2_two_edges)


ALL_TESTS: Sequence[IsolationTest] = (G0, G1A, G1B, G1C, OTV, PMP, PMP_WRITE, P4, G_SINGLE, G_SINGLE_DEPENDENCIES,
                                      G_SINGLE_WRITE_1, G_SINGLE_WRITE_2, G2_ITEM, G2, G2_TWO_EDGES)
CATALOGUE: dict[str, IsolationTest] = {t.name: t for t in ALL_TESTS}


def judge(test: IsolationTest, obs: Observation) -> Verdict:
    """Run a test's judge; a judge that crashes gives `unknown`, never takes the run down."""
    try:
        return test.judge(obs)
    except Exception as e:  # the verdict records it
        return undecided(f"the judge failed: {type(e).__name__}: {e}")
