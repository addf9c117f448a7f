"""Isolation results as people and machines read them: the Hermitage-style table, profiles of
expected outcomes, replayable step scripts, and JUnit cases."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from rich.table import Table

from test_rig.db import ISOLATION_LEVELS
from test_rig.errors import UsageError
from test_rig.isolation.catalogue import ANOMALY, CATALOGUE, PREVENTED, SETUP, UNDECIDED, UNSUPPORTED, IsolationTest
from test_rig.isolation.runner import Level, RunSettings, TestResult, session_setup
from test_rig.report.files import Case, Suite, level_label
from test_rig.report.replay import replay_script

MARK = {PREVENTED: "[green]✓[/]", ANOMALY: "[red]✗[/]", UNSUPPORTED: "[dim]–[/]", UNDECIDED: "[yellow]?[/]"}
PLAIN_MARK = {PREVENTED: "✓", ANOMALY: "✗", UNSUPPORTED: "–", UNDECIDED: "?"}
LEGEND = "legend: ✓ prevented   ✗ anomaly observed   – level not supported   ? undecided"
#: TiDB's transaction modes, as a profile's "level/mode" tables name them.
TXN_MODES = ("pessimistic", "optimistic")


def results_table(results: Sequence[TestResult], tests: Sequence[IsolationTest], *, plain: bool = False) -> Table:
    marks = PLAIN_MARK if plain else MARK
    table = Table(title="Isolation anomalies by level", show_lines=False)
    table.add_column("level", no_wrap=True)
    for t in tests:
        table.add_column(t.name, justify="center")
    rows: dict[str, dict[str, str]] = {}
    for r in results:
        rows.setdefault(level_label(r.isolation, r.txn_mode), {})[r.test] = marks.get(r.outcome, "?")
    for label, cells in rows.items():
        table.add_row(label, *(cells.get(t.name, "") for t in tests))
    return table


def markdown_table(results: Sequence[TestResult], tests: Sequence[IsolationTest]) -> str:
    lines = ["| level | " + " | ".join(t.name for t in tests) + " |",
             "|:--|" + "|".join(":-:" for _ in tests) + "|"]
    rows: dict[str, dict[str, str]] = {}
    for r in results:
        rows.setdefault(level_label(r.isolation, r.txn_mode), {})[r.test] = PLAIN_MARK.get(r.outcome, "?")
    for label, cells in rows.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(t.name, "") for t in tests) + " |")
    return "\n".join(lines)


def available_profiles() -> list[str]:
    folder = resources.files("test_rig.isolation") / "profiles"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name: str) -> dict[str, dict[str, str]]:
    """A shipped profile by name, or a TOML file by path. Returns cells[level or level/mode][test]."""
    path = Path(name)
    if path.suffix == ".toml" and path.is_file():
        text = path.read_text(encoding="utf-8")
    else:
        res = resources.files("test_rig.isolation") / "profiles" / f"{name}.toml"
        if not res.is_file():
            raise UsageError(f"Unknown profile {name!r}; use one of {', '.join(available_profiles())} or a .toml file.")
        text = res.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"Profile {name} is not valid TOML: {e}; fix it and run again.") from e
    cells = data.get("cells")
    if not isinstance(cells, dict):
        raise UsageError(f"Profile {name} has no [cells.LEVEL] tables; see the shipped mysql-innodb profile.")
    # A misspelled level or test states a cell no run has: it was compared with nothing, and the run passed.
    for level, row in cells.items():
        isolation, _, mode = str(level).partition("/")
        if isolation not in ISOLATION_LEVELS or (mode and mode not in TXN_MODES) or not isinstance(row, dict):
            raise UsageError(f"Profile {name} has [cells.{level}], which is not a level: name one of "
                             f"{', '.join(ISOLATION_LEVELS)}, optionally with /pessimistic or /optimistic (TiDB).")
        for test, outcome in row.items():
            if test not in CATALOGUE or outcome not in (PREVENTED, ANOMALY, UNSUPPORTED):
                what = f"test {test!r}" if test not in CATALOGUE else f"outcome {outcome!r} for {test}"
                raise UsageError(f"Profile {name} states an unknown {what} in [cells.{level}]; tests are "
                                 f"{', '.join(CATALOGUE)}, outcomes {PREVENTED}, {ANOMALY} or {UNSUPPORTED}.")
    return {str(k): {str(t): str(o) for t, o in v.items()} for k, v in cells.items()}


def expected_cell(profile: dict[str, dict[str, str]], isolation: str, txn_mode: str | None, test: str) -> str | None:
    """What `profile` states for `test` at a level: its "level/mode" table's cell, else its "level" table's."""
    keys = [f"{isolation}/{txn_mode}", isolation] if txn_mode else [isolation]
    return next((profile[k][test] for k in keys if k in profile and test in profile[k]), None)


def check_coverage(name: str, profile: dict[str, dict[str, str]], levels: Sequence[Level],
                   tests: Sequence[IsolationTest]) -> None:
    """UsageError, before anything runs, when `profile` states no cell of the levels and tests this run plans:
    compared with nothing, the run said that every cell the profile states agrees (e.g. the tidb profile, whose
    read-committed and repeatable-read are per transaction mode, against a MariaDB)."""
    if any(expected_cell(profile, lv.isolation, lv.txn_mode, t.name) is not None for lv in levels for t in tests):
        return
    planned = ", ".join(level_label(lv.isolation, lv.txn_mode) for lv in levels)
    raise UsageError(f"Profile {name} states no cell of this run ({planned}; its levels: "
                     f"{', '.join(profile) or 'none'}); choose the profile for this server, or other levels.")


def undecided(results: Sequence[TestResult]) -> list[TestResult]:
    return [r for r in results if r.outcome == UNDECIDED]


def compare(results: Sequence[TestResult], profile: dict[str, dict[str, str]]) -> list[str]:
    """Every cell where the observation differs from the profile, as one line each. An undecided
    cell always differs: a profile states what the server does, and the run did not see it."""
    diffs = []
    for r in results:
        expected = expected_cell(profile, r.isolation, r.txn_mode, r.test)
        if (expected is not None and expected != r.outcome) or (expected is None and r.outcome == UNDECIDED):
            diffs.append(f"{r.test} at {level_label(r.isolation, r.txn_mode)}: expected {expected}, observed "
                         f"{r.outcome} — {r.explanation}")
    return diffs


def explain(result: TestResult, test: IsolationTest, session_variables: dict[str, Any] | None = None) -> str:
    """A per-connection SQL script a person can replay, step numbers giving the global order,
    each step annotated with what it returned."""
    level = Level(result.isolation, result.txn_mode)
    session = [sql for sql in session_setup(level, RunSettings(session_variables=session_variables or {}))
               if "innodb_lock_wait" not in sql]
    text = replay_script(result.steps, header=[f"{test.name} ({test.title}) at "
                                               f"{level_label(result.isolation, result.txn_mode)}: {result.outcome}",
                                               result.explanation],
                         setup=SETUP, session=session, connections=test.transactions)
    if result.final is not None:
        text += "\n-- final table: " + (", ".join(f"({k}, {v})" for k, v in sorted(result.final.items())) or "empty")
    return text


def junit_suite(results: Sequence[TestResult], diffs: Sequence[str] | None = None) -> Suite:
    suite = Suite("isolation")
    failing = {d.split(":")[0] for d in diffs or []}
    for r in results:
        name = f"{r.test} at {level_label(r.isolation, r.txn_mode)}"
        failure = next((d for d in diffs or [] if d.startswith(name + ":")), None) if name in failing else None
        case = Case(name, f"isolation.{r.isolation}", r.seconds, failure=failure,
                    error=f"undecided: {r.explanation}" if r.outcome == UNDECIDED and failure is None else None,
                    skipped="level not supported by the server" if r.outcome == UNSUPPORTED else None,
                    output=f"{r.outcome}: {r.explanation}")
        suite.add(case)
    return suite
