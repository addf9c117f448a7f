"""The nemesis: faults on a schedule during a free-running run (schedule), what was asked and done (model),
who carries out server faults (control), and network faults through Toxiproxy (toxiproxy)."""

from .control import CommandControl, SandboxControl, ServerControl, find_sandbox
from .model import (
    KINDS,
    NETWORK_KINDS,
    SERVER_KINDS,
    FaultWindow,
    NemesisSpec,
    annotate_timeline,
    parse_commands,
    parse_kinds,
)
from .schedule import Nemesis

__all__ = ["KINDS", "NETWORK_KINDS", "SERVER_KINDS", "CommandControl", "FaultWindow", "Nemesis", "NemesisSpec",
           "SandboxControl", "ServerControl", "annotate_timeline", "find_sandbox", "parse_commands", "parse_kinds"]
