"""The nemesis: faults on a schedule during a free-running run: which fault begins and ends when, as data (plan),
carried out against a clock (schedule), what was asked and done (model), who carries out server faults
(control), and network faults through Toxiproxy (toxiproxy); here, the spec a command's options ask for
(spec_from_options) and the nemesis started and announced for a run."""

from collections.abc import Callable, Collection, Mapping
from typing import Any

from test_rig.errors import UsageError
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

#: The options that ask for a nemesis (their parameter names, as every free-running command declares them) and
#: how the user spells each.
OPTIONS = {"nemesis_kinds": "--nemesis", "nemesis_interval": "--nemesis-interval",
           "nemesis_duration": "--nemesis-duration", "nemesis_commands": "--nemesis-command",
           "nemesis_latency": "--nemesis-latency", "nemesis_jitter": "--nemesis-jitter",
           "nemesis_bandwidth": "--nemesis-bandwidth", "toxiproxy_url": "--toxiproxy"}


def spec_from_options(values: Mapping[str, Any], typed: Collection[str], seed: int = 0) -> NemesisSpec | None:
    """The NemesisSpec the option `values` ask for (by OPTIONS' names; None without --nemesis). `typed`: the
    options the user gave, one of which without --nemesis is refused, as it would have no effect. Raises
    UsageError for that and for a kind, interval or command that cannot be used."""
    if values.get("nemesis_kinds") is None:
        given = [name for name in OPTIONS if name != "nemesis_kinds" and name in typed]
        if given:
            raise UsageError(f"{OPTIONS[given[0]]} has no effect without --nemesis KIND; add it or leave the option "
                             "out.")
        return None
    interval = values.get("nemesis_interval")
    return NemesisSpec(parse_kinds(values["nemesis_kinds"]), interval=10.0 if interval is None else interval,
                       duration=values.get("nemesis_duration"),
                       commands=parse_commands(values.get("nemesis_commands") or ()),
                       latency_ms=values["nemesis_latency"], jitter_ms=values["nemesis_jitter"],
                       bandwidth_kbps=values["nemesis_bandwidth"], toxiproxy=values.get("toxiproxy_url"), seed=seed)


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

__all__ = ["KINDS", "NETWORK_KINDS", "OPTIONS", "SERVER_KINDS", "Clock", "CommandControl", "FaultWindow", "Nemesis",
           "NemesisSpec", "PerfClock", "PlannedFault", "SandboxControl", "ServerControl", "annotate_timeline",
           "announce", "find_sandbox", "parse_commands", "parse_kinds", "plan", "spec_from_options",
           "start_nemesis"]
