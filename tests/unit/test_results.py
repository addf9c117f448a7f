"""The one rule from a result to its verdict (results.judge), on result dicts as commands write them."""

from __future__ import annotations

from typing import Any

import pytest

from test_rig.results import CELL, HISTORY, RUN, Outcome, RunResult, Validity, Verdict, judge, settle


@pytest.mark.parametrize(("data", "outcome", "status"), [
    ({"ok": True, "complete": True}, Outcome.PASSED, 0),
    ({"ok": True, "complete": False, "error": "interrupted by SIGINT"}, Outcome.INTERRUPTED, 130),
    ({"ok": False, "error": "connection refused"}, Outcome.FAILED, 1),
    # a run stopped by an error before its end failed; one that lost sight of the server to the end is undecided
    ({"ok": False, "complete": False, "error": "Unknown database nope"}, Outcome.FAILED, 1),
    ({"ok": False, "complete": False, "error": "the server did not answer from 3.1 s to the end", "undecided": 1},
     Outcome.UNDECIDED, 1),
    ({"ok": False, "complete": False, "error": "stopped", "interrupted_by": "SIGTERM", "exit_status": 143},
     Outcome.INTERRUPTED, 143),
    ({"ok": False, "failed": 2}, Outcome.FAILED, 1),
    ({"ok": True, "undecided": 1}, Outcome.UNDECIDED, 1),
    ({"ok": True, "valid": False, "violations": ["G-single-item"]}, Outcome.FAILED, 1),
    ({"ok": True, "valid": "unknown", "unknown": ["no transaction completed"]}, Outcome.UNDECIDED, 1),
    ({"valid": True}, Outcome.PASSED, 0),
    ({}, Outcome.UNDECIDED, 1),
])
def test_judge(data: dict[str, Any], outcome: Outcome, status: int) -> None:
    verdict = judge(data)
    assert (verdict.outcome, verdict.exit_status) == (outcome, status)


def test_a_feature_says_its_counts_in_its_own_words() -> None:
    """hunt's "FAILED: 2 checks failed" above its own "2 new bug(s) found", and job-monitor's "1 check could not be
    decided" under "no job appeared in time", said less than the run knew."""
    assert judge({"ok": False, "failed": 2}).reason == "2 checks failed"
    assert judge({"ok": False, "failed": 2, "failed_because": "2 new bugs found"}).reason == "2 new bugs found"
    assert judge({"ok": True, "undecided": 1}).reason == "1 check could not be decided"
    undecided = judge({"ok": True, "undecided": 1, "undecided_because": "the duration ran out: no job appeared"})
    assert (undecided.outcome, undecided.reason) == (Outcome.UNDECIDED, "the duration ran out: no job appeared")
    # the words never change the verdict: nothing failed, so failed_because is not read
    assert judge({"ok": True, "failed_because": "2 new bugs found"}).outcome is Outcome.PASSED


def test_settle_makes_ok_agree_with_the_verdict() -> None:
    settled = settle({"ok": True, "valid": "unknown", "unknown": ["the cycle search ran out of time"]})
    assert settled["ok"] is False
    assert settled["outcome"] == "undecided"
    assert settled["reason"] == "the history could not be judged under the consistency model: the cycle search " \
                                "ran out of time"


def test_run_result_round_trip_keeps_the_payload() -> None:
    data = {"command": "bench select-1", "ok": True, "complete": True, "target": "127.0.0.1:4000", "qps": 10.5,
            "timeline": [{"second": 1, "ops": 10}]}
    result = RunResult.from_dict(data)
    assert result.payload == {"qps": 10.5, "timeline": [{"second": 1, "ops": 10}]}
    assert result.to_dict() == data
    assert result.verdict.outcome is Outcome.PASSED


@pytest.mark.parametrize("data", [
    {"ok": True, "undecided": 2},
    {"ok": False, "failed": 1, "undecided": 2},
    {"ok": True, "valid": "unknown", "unknown": ["no transaction completed"]},
    {"ok": False, "complete": False, "error": "interrupted by SIGTERM"},
    {"ok": True, "undecided": 1, "exit_status": 3},
])
def test_a_settled_result_is_judged_again_to_its_verdict(data: dict[str, Any]) -> None:
    """What settle wrote (ok false for an undecided run) is judged, when read back, to the same verdict: the
    HTML banner and `test-rig report` read the written JSON."""
    settled = settle(data)
    assert judge(settled) == judge(data)


def test_a_stopped_run_is_incomplete_and_interrupted() -> None:
    result = RunResult.stopped("multi-connection", "interrupted by SIGTERM", events=[{"kind": "TestStarted"}])
    assert result.to_dict() == {"command": "multi-connection", "ok": False, "complete": False,
                                "error": "interrupted by SIGTERM", "events": [{"kind": "TestStarted"}]}
    assert (result.verdict.outcome, result.verdict.exit_status) == (Outcome.INTERRUPTED, 130)


def test_a_feature_server_is_kept_as_it_saw_it() -> None:
    from test_rig.results import as_dict

    result = RunResult("basic", ok=True, server={"kind": "mariadb", "version": "10.11.6-MariaDB"})
    assert as_dict(result) == {"command": "basic", "ok": True, "complete": True,
                               "server": {"kind": "mariadb", "version": "10.11.6-MariaDB"}}
    assert as_dict(result.to_dict()) == result.to_dict()
    assert RunResult.from_dict(result.to_dict()) == result


@pytest.mark.parametrize(("written", "validity"), [
    (True, Validity.VALID), ("valid", Validity.VALID), (False, Validity.INVALID), ("invalid", Validity.INVALID),
    ("unknown", Validity.UNKNOWN), (None, Validity.UNKNOWN), ("yes", Validity.UNKNOWN), (1, Validity.UNKNOWN),
])
def test_validity_is_valid_only_when_written_so(written: object, validity: Validity) -> None:
    assert Validity.of(written) is validity


def test_one_verdict_in_each_features_words() -> None:
    """An isolation cell, a history and a run give the same three values, each in its own words; a word read back
    from a result is the same verdict, and a word that is none of them (a refused level) is unknown."""
    assert [CELL(v, "why").outcome for v in Validity] == ["prevented", "anomaly", "undecided"]
    assert [HISTORY(v, "why").outcome for v in Validity] == ["valid", "invalid", "unknown"]
    assert [RUN(v, "why").outcome for v in Validity] == [Outcome.PASSED, Outcome.FAILED, Outcome.UNDECIDED]
    for v in Validity:
        assert CELL.read(CELL(v, "why").outcome, "why") == CELL(v, "why")
    assert CELL.read("unsupported", "refused") == Verdict(Validity.UNKNOWN, "refused", "unsupported")
    assert Verdict(Validity.INVALID, "why").outcome == "invalid"


def test_a_verdicts_exit_status() -> None:
    assert [RUN(v, "why").exit_status for v in Validity] == [0, 1, 1]
    assert Verdict(Validity.UNKNOWN, "interrupted by SIGINT", Outcome.INTERRUPTED).exit_status == 130
    assert judge({"ok": True, "undecided": 1, "exit_status": 3}) == Verdict(
        Validity.UNKNOWN, "1 check could not be decided", Outcome.UNDECIDED, 3)


def test_what_a_run_left_on_the_server_fails_it_and_is_said_in_every_verdict() -> None:
    left = {"left_on_server": ["rig_hunt_ab_w0", "rig_hunt_ab_w0_r"]}
    said = "left on the server, as it could not be dropped: rig_hunt_ab_w0, rig_hunt_ab_w0_r"
    passed = judge({"ok": True, "complete": True, **left})
    assert (passed.outcome, passed.reason, passed.exit_status) == (Outcome.FAILED, said, 1)
    stopped = judge({"ok": False, "complete": False, "error": "interrupted by SIGTERM", "exit_status": 143, **left})
    assert (stopped.outcome, stopped.reason, stopped.exit_status) == (
        Outcome.INTERRUPTED, f"interrupted by SIGTERM; {said}", 143)
    settled = settle({"ok": True, **left})
    assert (settled["ok"], settled["error"], settled["reason"]) == (False, said, said)
    assert judge(settled).reason == said  # judged again (the HTML banner, `test-rig report`): the same words
    assert judge(settle(settle({"ok": False, "complete": False, "error": "interrupted by SIGTERM", **left}))).reason \
        == f"interrupted by SIGTERM; {said}"
    assert judge({"ok": True, "left_on_server": []}).outcome == Outcome.PASSED
