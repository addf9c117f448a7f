"""One verdict per run, and the rule from it to every output: the console summary, the JSON's `ok` and
`outcome`, the JUnit file, the HTML banner and the exit status all come from `judge` (the README's
exit-status paragraph says the same in words).

A run's result is a dict of JSON values (what `--json` writes, what `test-rig report` reads back);
`RunResult` is its typed form: the fields every command has, and the feature's own payload beside them.
Pure: no I/O, no imports of the rest of test-rig, so every layer can use it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    """What a run says of itself, in the order of precedence: one that did not finish, one that failed,
    one whose checks could not all be decided, one that passed."""

    INTERRUPTED = "interrupted"
    FAILED = "failed"
    UNDECIDED = "undecided"
    PASSED = "passed"

    @property
    def passed(self) -> bool:
        return self is Outcome.PASSED


@dataclass(frozen=True)
class Verdict:
    """A run's outcome and the one sentence that says why."""

    outcome: Outcome
    reason: str
    #: The status the command documents for this verdict, when it has one of its own (the result's
    #: "exit_status": job-monitor's 3, time ran out with jobs still running; its 1 for a run whose end was not
    #: observed, which is incomplete without being interrupted). None: the rule below.
    status: int | None = None

    @property
    def exit_status(self) -> int:
        """0 passed; 1 failed or undecided; an interrupted run exits with its signal's status (130 SIGINT,
        143 SIGTERM), which the program's stop handler sets: 130 here when the result alone is known. A
        verdict that is not a pass keeps the command's own status when its result records one."""
        if self.status is not None:
            return self.status
        if self.outcome is Outcome.PASSED:
            return 0
        return 130 if self.outcome is Outcome.INTERRUPTED else 1


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def judge(data: dict[str, Any]) -> Verdict:
    """The verdict of a result dict. Only positive evidence is a pass: `"ok": true` (or a history judged
    valid) with nothing that contradicts it. `"complete": false`, `"ok": false`, a history that is invalid
    or unknown, undecided checks, or a result that says nothing at all are never a pass. A verdict that is
    not a pass carries the result's own non-zero "exit_status", when it records one."""
    verdict = _judge(data)
    own = data.get("exit_status")
    if not verdict.outcome.passed and isinstance(own, int) and not isinstance(own, bool) and own > 0:
        return Verdict(verdict.outcome, verdict.reason, own)
    return verdict


def _judge(data: dict[str, Any]) -> Verdict:
    error = data.get("error")
    if data.get("complete") is False:  # the run did not reach its end: a signal, an error, or a blind spot
        if data.get("interrupted_by") or str(error or "interrupted").startswith("interrupted"):
            return Verdict(Outcome.INTERRUPTED, str(error or "interrupted"))
        reason = str(error or "the run did not reach its end")
        if _count(data.get("undecided")) and not _count(data.get("failed")):
            return Verdict(Outcome.UNDECIDED, reason)  # e.g. a server not observed to the end
        return Verdict(Outcome.FAILED, reason)
    if data.get("ok") is False and error:
        return Verdict(Outcome.FAILED, str(error))
    judged = "valid" in data or "verdict" in data  # a history checker's result (elle, check)
    history = data.get("valid", data.get("verdict"))
    model = data.get("consistency_model") or "the consistency model"
    if judged and (history is False or history == "invalid"):
        kinds = ", ".join(str(k) for k in data.get("violations") or data.get("anomaly_types")
                          or sorted(data.get("anomalies") or {}))
        return Verdict(Outcome.FAILED, f"the history is invalid under {model}" + (f": {kinds}" if kinds else ""))
    if judged and history not in (True, "valid"):  # neither valid nor invalid: undecided, not failed
        reasons = "; ".join(str(r) for r in data.get("unknown") or [] if isinstance(r, str))
        return Verdict(Outcome.UNDECIDED,
                       f"the history could not be judged under {model}" + (f": {reasons}" if reasons else ""))
    failed = _count(data.get("failed"))
    undecided = _count(data.get("undecided"))
    # Undecided checks and nothing failed: undecided, also when `ok` is false, as settle writes it for an
    # undecided run (so a result read back from its JSON is judged to the verdict it was written with).
    if data.get("ok") is False and (failed or not undecided):
        return Verdict(Outcome.FAILED, f"{failed} check{'s' if failed != 1 else ''} failed" if failed
                       else "a test failed or could not be decided")
    if undecided:
        return Verdict(Outcome.UNDECIDED, f"{undecided} check{'s' if undecided != 1 else ''} could not be decided")
    if data.get("ok") is not True and history not in (True, "valid"):
        return Verdict(Outcome.UNDECIDED, "the result does not say whether the run passed")
    return Verdict(Outcome.PASSED, "every check passed")


def settle(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its verdict written into it: `ok` true exactly when the verdict is a pass (so the JSON can
    never say ok beside an undecided history), `outcome` and `reason` beside it. Every report writer calls
    this once, and reads the rest from the returned dict."""
    verdict = judge(data)
    return {**data, "ok": verdict.outcome.passed, "outcome": str(verdict.outcome), "reason": verdict.reason}


#: The keys every command's result has; the rest of a result dict is the feature's own payload.
COMMON_KEYS = ("command", "ok", "complete", "error", "target", "server", "settings", "outcome", "reason")


@dataclass
class RunResult:
    """The typed form of a result dict: what every command's result has, and the feature's payload (its
    own keys, kept as written, so the JSON shape is the one the README documents)."""

    command: str
    ok: bool
    complete: bool = True
    error: str | None = None
    target: str | None = None
    #: the server as the feature saw it: its kind and version (a dict), or its address
    server: dict[str, Any] | str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return judge(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"command": self.command, "ok": self.ok, "complete": self.complete}
        if self.error is not None:
            data["error"] = self.error
        for key in ("target", "server"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.settings:
            data["settings"] = self.settings
        data.update(self.payload)
        return data

    @classmethod
    def stopped(cls, command: str, error: str, **payload: Any) -> RunResult:
        """The partial result of a run that a signal (or an error) stopped before its end."""
        return cls(command, ok=False, complete=False, error=error, payload=payload)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(command=str(data.get("command", "")), ok=data.get("ok") is True,
                   complete=data.get("complete") is not False,
                   error=None if data.get("error") is None else str(data["error"]),
                   target=data.get("target"), server=data.get("server"), settings=dict(data.get("settings") or {}),
                   payload={k: v for k, v in data.items() if k not in COMMON_KEYS})


def as_dict(result: dict[str, Any] | RunResult) -> dict[str, Any]:
    """A result as the dict every report reads (a RunResult's to_dict, a dict as it is)."""
    return result.to_dict() if isinstance(result, RunResult) else result
