"""The nemesis: faults on a schedule during a free-running run: which fault begins and ends when, as data (plan),
carried out against a clock (schedule), what was asked and done (model), who carries out server faults
(control), and network faults through Toxiproxy (toxiproxy)."""

from collections.abc import Callable
from typing import Any

from test_rig.nemesis.control import CommandControl, SandboxControl, ServerControl
from test_rig.nemesis.model import (
    KINDS,
    NETWORK_KINDS,
    SERVER_KINDS,
    FaultWindow,
    NemesisSpec,
    annotate_timeline,
    parse_commands,
    parse_kinds,
)
from test_rig.nemesis.plan import PlannedFault, plan
from test_rig.nemesis.schedule import Clock, Nemesis, PerfClock
from test_rig.servers.sandbox import find_sandbox


def start_nemesis(spec: NemesisSpec | None, target: Any, say: Callable[[str], None]) -> Nemesis | None:
    """The Nemesis for `spec` against `target` (None without one), after checking it can be done (UsageError,
    exit 2, before anything runs); `say` gets a line for what it will do and one as each fault starts and ends."""
    if spec is None:
        return None
    nemesis = Nemesis.prepare(spec, target)
    announce(nemesis, say)
    return nemesis


def announce(nemesis: Nemesis, say: Callable[[str], None]) -> None:
    """Give `say` a line for what `nemesis` will do, and one as each fault starts and ends."""
    say(f"nemesis: {nemesis.describe()}")
    nemesis.listeners.append(lambda kind, phase, w: say(
        f"  nemesis {phase} {kind} at {(w.end_s if phase != 'start' else w.start_s) or 0:.1f} s: "
        f"{w.error or (w.heal if phase == 'end' else w.action)}"))

__all__ = ["KINDS", "NETWORK_KINDS", "SERVER_KINDS", "Clock", "CommandControl", "FaultWindow", "Nemesis",
           "NemesisSpec", "PerfClock", "PlannedFault", "SandboxControl", "ServerControl", "annotate_timeline",
           "announce", "find_sandbox", "parse_commands", "parse_kinds", "plan", "start_nemesis"]
