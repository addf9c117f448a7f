"""A checked history as people and CI read it: the verdict with its anomalies on the console, and the JUnit
case; both read the result dict (`check` and `elle` write it), so a report read back renders the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text

from test_rig.errors import by_code_text
from test_rig.history.checker import UNTRUSTWORTHY, Report
from test_rig.report.files import Case, Suite

if TYPE_CHECKING:
    from test_rig.history.runner import ElleSettings


@dataclass(frozen=True)
class Summary:
    """A checked history's verdict in the words every output uses (console_lines, and the HTML report's section,
    history/html.py): the verdict and model, the transactions by outcome, each anomaly kind found with its count
    and what it means for the verdict, the models the anomalies rule out, and why the verdict is undecided."""

    verdict: str  # valid, invalid or unknown
    model: str
    transactions: str  # "5 ok, 2 info", or "none"
    kinds: dict[str, str]  # kind -> "N found" and, for one that is no violation, why not
    ruled_out: str | None  # "not serializable (nor strict-serializable)", when the anomalies rule a model out
    undecided: list[str]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Summary:
        from test_rig.history.consistency import UNKNOWN_TYPES

        report = Report.from_dict(data)
        kinds = {}
        for kind in sorted(report.anomalies):
            allowed = ("" if kind in report.violations else " (so the verdict is undecided)"
                       if kind in UNKNOWN_TYPES or kind in UNTRUSTWORTHY else " (allowed by the model)")
            kinds[kind] = f"{len(report.anomalies[kind])} found{allowed}"
        ruled_out = (f"not {', '.join(report.not_)}" + (f" (nor {', '.join(report.also_not)})" if report.also_not
                                                        else "")) if report.not_ else None
        return cls("valid" if report.valid is True else "invalid" if report.valid is False else "unknown",
                   report.model, ", ".join(f"{n} {kind}" for kind, n in report.stats.items()) or "none", kinds,
                   ruled_out, list(report.unknown))


_COLOUR = {"valid": "green", "invalid": "red", "unknown": "yellow"}


def console_lines(data: dict[str, Any], limit: int = 3) -> list[str | Text]:
    """The verdict (Summary), each anomaly type with up to `limit` explanations, the models ruled out, and why the
    verdict is undecided."""
    said = Summary.of(data)
    lines: list[str | Text] = [Text.assemble((said.verdict, _COLOUR[said.verdict]),
                                             f" under {said.model}; transactions: {said.transactions}")]
    for kind, count in said.kinds.items():
        lines.append(Text.assemble((kind, "red"), f": {count}"))
        lines += [f"  {a['explanation']}" for a in data["anomalies"][kind][:limit]]
    if said.ruled_out:
        lines.append(said.ruled_out)
    return lines + [Text.assemble(("undecided", "yellow"), f": {reason}") for reason in said.undecided]


def junit_suite(data: dict[str, Any], name: str, seconds: float = 0.0) -> Suite:
    """The JUnit case of a verdict: passed (valid), a failure (invalid: the violations), an error (undecided:
    the reasons)."""
    report = Report.from_dict(data)
    suite = Suite(name)
    title, classname = f"history valid under {report.model}", f"test_rig.{name}"
    if report.valid is True:
        suite.add(Case(title, classname, seconds))
    elif report.valid is False:
        suite.add(Case(title, classname, seconds, failure="invalid: " + ", ".join(report.violations)))
    else:
        suite.add(Case(title, classname, seconds, error="undecided: " + "; ".join(report.unknown)))
    return suite


def opening(settings: ElleSettings, address: str) -> str:
    """`elle`'s first line: the workload, its load and the models its history is checked against."""
    s = settings
    return (f"test-rig elle {s.spec.name}: {s.connections} connections, {s.duration:g} s, {s.spec.keys} keys, "
            f"{s.isolation}, checked as {','.join(s.models)}, against {address}")


def second_line(second: int, transactions: int, errors: int) -> str:
    """An `elle` run's line for each second of its load."""
    return f"  {second:>4} s: {transactions} transactions, {errors} errors"


def run_lines(settings: ElleSettings, data: dict[str, Any]) -> list[str | Text]:
    """An `elle` run's result: a note when --txn-mode had no effect, the verdict (`console_lines`), the errors by
    server code, and why a run that ended did not test what was asked."""
    kind = (data.get("server") or {}).get("kind")
    lines: list[str | Text] = []
    if settings.txn_mode is not None and kind not in (None, "tidb"):
        lines.append(f"note: --txn-mode is ignored: this server is {kind}")
    lines += console_lines(data)
    if data.get("errors_by_code"):
        # each code with the server's first message for it (a Text: a message is never read as markup)
        lines.append(Text("errors by code: " + by_code_text(data["errors_by_code"], data.get("error_messages"))))
    if data.get("complete") is not False and data.get("error") is not None:
        lines.append(Text(f"The run did not test what was asked: {data['error']}", style="red"))
    return lines
