"""What the nemesis is asked for and what it did: the kinds, the options, and one window per fault."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from test_rig.errors import UsageError

SERVER_KINDS = ("kill", "pause")
NETWORK_KINDS = ("latency", "bandwidth", "reset", "partition")
KINDS = (*SERVER_KINDS, "kill-connections", *NETWORK_KINDS)
COMMAND_KEYS = ("kill", "start", "pause", "resume")
#: What each server fault needs from --nemesis-command when the server is not a sandbox.
NEEDS = {"kill": ("kill", "start"), "pause": ("pause", "resume")}


def parse_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UsageError(f"Unknown nemesis kind {unknown[0] if unknown else text!r}; use one or more of "
                         f"{', '.join(KINDS)}, separated by commas.")
    return tuple(dict.fromkeys(kinds))


def parse_commands(items: Sequence[str]) -> dict[str, str]:
    commands: dict[str, str] = {}
    for item in items:
        key, sep, command = item.partition("=")
        if not sep or key.strip() not in COMMAND_KEYS or not command.strip():
            raise UsageError(f"--nemesis-command {item!r} is not ACTION=COMMAND with ACTION one of "
                             f"{', '.join(COMMAND_KEYS)}; for example --nemesis-command kill=\"systemctl kill ...\".")
        commands[key.strip()] = command.strip()
    return commands


@dataclass(frozen=True)
class NemesisSpec:
    kinds: tuple[str, ...]
    interval: float = 10.0
    duration: float | None = None  # how long each fault lasts; None: half the interval
    commands: Mapping[str, str] = field(default_factory=dict)
    latency_ms: float = 50.0
    jitter_ms: float = 0.0
    bandwidth_kbps: int = 64
    kill_share: float = 0.5
    toxiproxy: str | None = None
    seed: int = 0
    #: Seconds after which an operation's connection is dropped (a request lost in a partition never returns).
    op_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise UsageError(f"--nemesis-interval {self.interval:g} must be a positive number of seconds.")
        if self.duration is not None and not 0 < self.duration < self.interval:
            raise UsageError(f"--nemesis-duration {self.duration:g} must be more than 0 and less than "
                             f"--nemesis-interval {self.interval:g}.")

    @property
    def hold(self) -> float:
        return self.duration if self.duration is not None else self.interval / 2

    @property
    def breaker_recovery(self) -> float:
        """The circuit breaker's recovery time under this schedule: a fifth of the interval (at most the usual
        10 s), so the load comes back between faults instead of staying refused until the next one."""
        return min(10.0, max(0.5, self.interval / 5))

    @property
    def network(self) -> bool:
        return any(k in NETWORK_KINDS for k in self.kinds)


@dataclass(frozen=True)
class FaultWindow:
    """One fault: when it began and ended (seconds from the run's start), what was done and undone. Frozen: the
    schedule records each step as a copy (dataclasses.replace), so a listener keeps the window it was given."""

    kind: str
    start_s: float
    end_s: float | None = None
    action: str = ""
    heal: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.end_s is not None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3) if self.end_s is not None else None, "action": self.action,
                "heal": self.heal, "ok": self.ok, "error": self.error}



def annotate_timeline(timeline: list[dict[str, Any]], windows: Sequence[Mapping[str, Any]]) -> None:
    """Mark each timeline second (t = 1 covers [0, 1) s) with the kinds of fault active during any of it.
    `windows` are the recorded ones (FaultWindow.to_dict), so a result can be annotated from its JSON."""
    for entry in timeline:
        lo, hi = entry["t"] - 1, entry["t"]
        active = [w["kind"] for w in windows
                  if w["start_s"] < hi and (w["end_s"] if w["end_s"] is not None else hi) > lo]
        entry["faults"] = sorted(set(active))
