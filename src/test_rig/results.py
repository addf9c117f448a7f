"""The one result model. A `Verdict` is a judgement with its evidence: valid, invalid or unknown (`Validity`),
the reason, and the word its feature shows it as (`Words`: an isolation cell's prevented / anomaly / undecided, a
history's valid / invalid / unknown, a run's passed / failed / undecided, or interrupted). Every judge returns
one: the isolation catalogue's per cell, `judge` per run.

One verdict per run, and the rule from it to every output: the console summary, the JSON's `ok` and
`outcome`, the JUnit file, the HTML banner and the exit status all come from `judge` (the README's
exit-status paragraph says the same in words).

A run's result is a dict of JSON values (what `--json` writes, what `test-rig report` reads back);
`RunResult` is its typed form: the fields every command has, and the feature's own payload beside them.
Pure: no I/O, no imports of the rest of test-rig, so every layer can use it.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any


class Validity(enum.StrEnum):
    """What a judgement says, in Jepsen's three values: valid (positive evidence that the property holds),
    invalid (the violation seen), unknown (neither: an error that is not the protection itself, a step that
    never ran, a search that ran out of time, a run stopped before its end)."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: object) -> Validity:
        """The validity a result writes as JSON: true or "valid", false or "invalid"; anything else (a history
        checker's "unknown", None, a missing key) is unknown, never valid."""
        if value is True or value == cls.VALID:
            return cls.VALID
        if value is False or value == cls.INVALID:
            return cls.INVALID
        return cls.UNKNOWN


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
    """A judgement with its evidence: its validity, the one sentence that says why, and the word its feature shows
    it as (`Words`): an isolation cell's prevented / anomaly / undecided, a history's valid / invalid / unknown, a
    run's passed / failed / undecided, or interrupted (unknown: the run did not reach its end)."""

    validity: Validity
    reason: str
    #: the word the feature shows this verdict as; the validity's own name when not given
    outcome: str = ""
    #: The status the command documents for this verdict, when it has one of its own (the result's
    #: "exit_status": job-monitor's 3, time ran out with jobs still running; its 1 for a run whose end was not
    #: observed, which is incomplete without being interrupted). None: the rule of `exit_status`.
    status: int | None = None

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", str(self.validity))

    @property
    def valid(self) -> bool:
        """Whether the verdict is a pass: positive evidence, nothing that contradicts it."""
        return self.validity is Validity.VALID

    @property
    def exit_status(self) -> int:
        """0 valid (passed); 1 invalid or unknown; an interrupted run exits with its signal's status (130 SIGINT,
        143 SIGTERM), which the program's stop handler sets: 130 here when the result alone is known. A verdict
        that is not a pass keeps the command's own status when its result records one."""
        if self.status is not None:
            return self.status
        if self.valid:
            return 0
        return 130 if self.outcome == Outcome.INTERRUPTED else 1


@dataclass(frozen=True)
class Words:
    """How one feature shows the three values. A word that is none of them (an isolation cell's "unsupported":
    the server refused the level, so nothing was judged) reads back as unknown, keeping its word."""

    valid: str
    invalid: str
    unknown: str

    def __call__(self, validity: Validity, reason: str) -> Verdict:
        """The verdict `validity` with its evidence `reason`, shown in these words."""
        word = {Validity.VALID: self.valid, Validity.INVALID: self.invalid, Validity.UNKNOWN: self.unknown}[validity]
        return Verdict(validity, reason, word)

    def read(self, word: str, reason: str) -> Verdict:
        """The verdict a result wrote as `word` (one of these words) and `reason`, e.g. read back from its JSON."""
        validity = {self.valid: Validity.VALID, self.invalid: Validity.INVALID}.get(word, Validity.UNKNOWN)
        return Verdict(validity, reason, word)


#: A judged isolation cell (the anomaly catalogue's judges).
CELL = Words("prevented", "anomaly", "undecided")
#: A checked history (`check`, `elle`): the checker's report writes the validity itself.
HISTORY = Words("valid", "invalid", "unknown")
#: A run as a whole (`judge`); one stopped before its end is shown as Outcome.INTERRUPTED.
RUN = Words(Outcome.PASSED, Outcome.FAILED, Outcome.UNDECIDED)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def judge(data: dict[str, Any]) -> Verdict:
    """The verdict of a result dict, in the run's words (RUN, and interrupted). Only positive evidence is a pass:
    `"ok": true` (or a history judged valid) with nothing that contradicts it. `"complete": false`, `"ok": false`,
    a history that is invalid or unknown, undecided checks, or a result that says nothing at all are never a pass.
    A verdict that is not a pass carries the result's own non-zero "exit_status", when it records one. What the
    run made on the server and could not drop (`left_on_server`: schemas, databases) fails a run that would have
    passed, and is said in the reason of any other."""
    verdict = _judge(data)
    left = [str(name) for name in data.get("left_on_server") or []]
    if left:
        note = left_note(left)
        if verdict.valid:
            verdict = RUN(Validity.INVALID, note)
        elif note not in verdict.reason:  # (a settled result says it in its error already)
            verdict = dataclasses.replace(verdict, reason=f"{verdict.reason}; {note}")
    own = data.get("exit_status")
    if not verdict.valid and isinstance(own, int) and not isinstance(own, bool) and own > 0:
        return dataclasses.replace(verdict, status=own)
    return verdict


def _judge(data: dict[str, Any]) -> Verdict:
    error = data.get("error")
    if data.get("complete") is False:  # the run did not reach its end: a signal, an error, or a blind spot
        if data.get("interrupted_by") or str(error or "interrupted").startswith("interrupted"):
            return Verdict(Validity.UNKNOWN, str(error or "interrupted"), Outcome.INTERRUPTED)
        reason = str(error or "the run did not reach its end")
        if _count(data.get("undecided")) and not _count(data.get("failed")):
            return RUN(Validity.UNKNOWN, reason)  # e.g. a server not observed to the end
        return RUN(Validity.INVALID, reason)
    if data.get("ok") is False and error:
        return RUN(Validity.INVALID, str(error))
    judged = "valid" in data or "verdict" in data  # a history checker's result (elle, check)
    history = Validity.of(data.get("valid", data.get("verdict")))
    model = data.get("consistency_model") or "the consistency model"
    if judged and history is Validity.INVALID:
        kinds = ", ".join(str(k) for k in data.get("violations") or data.get("anomaly_types")
                          or sorted(data.get("anomalies") or {}))
        return RUN(Validity.INVALID, f"the history is invalid under {model}" + (f": {kinds}" if kinds else ""))
    if judged and history is Validity.UNKNOWN:  # neither valid nor invalid: undecided, not failed
        reasons = "; ".join(str(r) for r in data.get("unknown") or [] if isinstance(r, str))
        return RUN(Validity.UNKNOWN,
                   f"the history could not be judged under {model}" + (f": {reasons}" if reasons else ""))
    failed = _count(data.get("failed"))
    undecided = _count(data.get("undecided"))
    # Undecided checks and nothing failed: undecided, also when `ok` is false, as settle writes it for an
    # undecided run (so a result read back from its JSON is judged to the verdict it was written with).
    # A feature may say what its counts were in its own words (`failed_because`: hunt's "2 new bugs found";
    # `undecided_because`: job-monitor's "no job appeared ..."), where "2 checks failed" said less.
    if data.get("ok") is False and (failed or not undecided):
        return RUN(Validity.INVALID, (str(data.get("failed_because") or "")
                                      or f"{failed} check{'s' if failed != 1 else ''} failed") if failed
                   else "a test failed or could not be decided")
    if undecided:
        return RUN(Validity.UNKNOWN, str(data.get("undecided_because") or "")
                   or f"{undecided} check{'s' if undecided != 1 else ''} could not be decided")
    if data.get("ok") is not True and not (judged and history is Validity.VALID):
        return RUN(Validity.UNKNOWN, "the result does not say whether the run passed")
    return RUN(Validity.VALID, "every check passed")


def left_note(left: list[str]) -> str:
    """How every verdict says what a run made on the server and could not drop."""
    return f"left on the server, as it could not be dropped: {', '.join(left)}"


def settle(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its verdict written into it: `ok` true exactly when the verdict is a pass (so the JSON can
    never say ok beside an undecided history), `outcome` and `reason` beside it (and, for a run that failed only
    by what it left on the server, that as its `error`, so the settled result is judged again to the same
    reason). Every report writer calls this once, and reads the rest from the returned dict."""
    verdict = judge(data)
    out = {**data, "ok": verdict.valid, "outcome": str(verdict.outcome), "reason": verdict.reason}
    left = [str(name) for name in data.get("left_on_server") or []]
    if left and not data.get("error") and verdict.reason == left_note(left):
        out["error"] = verdict.reason
    return out


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
