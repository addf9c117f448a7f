"""An isolation run on the console: its progress as levels are judged, and the summary of what it returns
(the table, the scaled variants, step scripts, undecided cells, the comparison with a profile)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console

from test_rig.db import ServerInfo
from test_rig.isolation.catalogue import CATALOGUE, IsolationTest
from test_rig.isolation.report import LEGEND, explain, markdown_table, results_table
from test_rig.isolation.runner import Level, TestResult
from test_rig.isolation.suite import SuiteRun
from test_rig.report.files import level_label


def progress(console: Console, tests: Sequence[IsolationTest], address: str, ignored_txn_mode: str | None
             ) -> tuple[Callable[[ServerInfo, list[Level]], None], Callable[[TestResult], None]]:
    """The run's `on_start` and `on_result`: its first line (and a note that `ignored_txn_mode`, when given,
    does nothing on a server that is not TiDB), then a line per level once all its tests are judged."""
    judged: dict[str, int] = {}

    def started(server: ServerInfo, levels: list[Level]) -> None:
        console.print(f"test-rig isolation: {len(tests)} tests × {len(levels)} level(s) on {server.kind} "
                      f"{server.version} at {address}")
        if server.kind != "tidb" and ignored_txn_mode is not None:
            console.print(f"note: --txn-mode {ignored_txn_mode} is ignored: transaction modes exist only on TiDB, "
                          f"and this server is {server.kind}")

    def judged_one(result: TestResult) -> None:
        label = level_label(result.isolation, result.txn_mode)
        judged[label] = judged.get(label, 0) + 1
        if judged[label] == len(tests):
            console.print(f"  {label}: {len(tests)} test(s) judged")

    return started, judged_one


def render(console: Console, run: SuiteRun, tests: Sequence[IsolationTest], explain_test: str | None, *,
           verbose: bool = False) -> None:
    """The console summary of a run, from what it returns."""
    results = run.results
    if results:
        table = results_table(results, tests)
        if not console.is_terminal:  # a file or pipe gets the whole table, never an 80-column squeeze
            console.width = max(console.width, 40 + sum(len(t.name) + 3 for t in tests))
        console.print(table)
        console.print(LEGEND)
    for s in run.scaled:
        what = (f"{s.lost_updates} lost update(s)" if s.lost_updates is not None
                else f"{s.violations} shift(s) left with nobody on call")
        console.print(f"{s.test} at {level_label(s.isolation, s.txn_mode)}: {s.rows} rows, "
                      f"{s.transactions} transactions, {s.committed} committed: {what}")
    for r in results if explain_test else []:
        if r.test == explain_test:
            console.print(explain(r, CATALOGUE[explain_test], run.session_variables), markup=False, highlight=False)
            console.print()
    if not run.complete:
        if run.failure is None:
            console.print("[yellow]interrupted[/]: the results above are those that finished; the run's schema "
                          + (f"{', '.join(run.left_on_server)} could not be dropped" if run.left_on_server
                             else "was dropped"))
        return
    if run.undecided:
        console.print(f"[yellow]{len(run.undecided)} cell(s) undecided[/]: the run could not observe them")
        for r in run.undecided:
            console.print(f"  {r.test} at {level_label(r.isolation, r.txn_mode)}: {r.explanation}")
    elif not run.observed:
        console.print("[yellow]nothing was observed[/]: the server refused every level asked for")
    if run.profile is not None:
        if run.differences:
            console.print(f"[red]{len(run.differences)} cell(s) differ from profile {run.profile}:[/]")
            for d in run.differences:
                console.print(f"  {d}")
        else:
            console.print(f"[green]every cell that profile {run.profile} states agrees[/]")
    if verbose:
        console.print(markdown_table(results, tests), markup=False)
