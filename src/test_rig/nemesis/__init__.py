"""The nemesis: faults on a schedule during a free-running run: which fault begins and ends when, as data (plan),
carried out against a clock (schedule), what was asked and done (model), who carries out server faults
(control), and network faults through Toxiproxy (toxiproxy); here, the options that ask for one (NemesisOptions),
the spec they ask for (spec_from_options) and the nemesis started and announced for a run."""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields
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
from test_rig.options import flag_of, option
from test_rig.servers.sandbox import find_sandbox


@dataclass(frozen=True)
class NemesisOptions:
    """The options that ask for a nemesis, as every free-running command takes them: each field with its flag,
    default and help (test_rig.options: the commands' options are made from them)."""

    nemesis_kinds: str | None = option(None, "Faults during the run: kill, pause, kill-connections, latency, "
                                       "bandwidth, reset, partition (the last four through Toxiproxy). They take "
                                       "turns.", flag="--nemesis", metavar="KIND[,KIND...]")
    nemesis_interval: float | None = option(None, "Seconds from one fault's start to the next (default 10).",
                                            metavar="S")
    nemesis_duration: float | None = option(None, "Seconds each fault lasts before it is healed (default half the "
                                            "interval).", metavar="S")
    nemesis_commands: tuple[str, ...] = option((), "Shell command for kill, start, pause or resume of a server "
                                               "test-rig does not control.", flag="--nemesis-command",
                                               metavar="ACTION=COMMAND")
    nemesis_latency: float = option(50.0, "Latency the `latency` fault adds to each reply.", low=0, high=60_000,
                                    metavar="MS")
    nemesis_jitter: float = option(0.0, "Jitter of that latency.", low=0, high=60_000, metavar="MS")
    nemesis_bandwidth: int = option(64, "Reply bandwidth under the `bandwidth` fault.", low=1, metavar="KB/S")
    toxiproxy_url: str | None = option(None, "A running Toxiproxy's API (default: start toxiproxy-server on "
                                       "loopback for the run).", flag="--toxiproxy", metavar="URL",
                                       envvar="TOXIPROXY_URL")


#: The options that ask for a nemesis (their parameter names, NemesisOptions' fields) and how the user spells each.
OPTIONS = {f.name: flag_of(f) for f in fields(NemesisOptions)}


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
           "NemesisOptions", "NemesisSpec", "PerfClock", "PlannedFault", "SandboxControl", "ServerControl",
           "annotate_timeline", "announce", "find_sandbox", "parse_commands", "parse_kinds", "plan",
           "spec_from_options", "start_nemesis"]
