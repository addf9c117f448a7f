"""The whole `hunt` run as one call: its options (`HuntOptions`) checked into a HuntSpec, then `hunt`,
which runs it in this process (runner.run_hunt) or over worker processes (processes.run_hunt_processes) and
returns its RunResult — also the partial one of an interrupted run (`complete: false`), its databases dropped."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from test_rig.errors import UsageError, signal_name
from test_rig.options import option
from test_rig.results import RunResult

if TYPE_CHECKING:  # the runner (and the driver under it) is imported when a hunt runs, not for `hunt --help`
    from test_rig.db import Target
    from test_rig.hunt.runner import HuntRun, HuntSpec

ORACLE_NAMES = ("tlp-where", "tlp-having", "tlp-distinct", "tlp-group-by", "tlp-aggregate", "norec", "plans",
                "errors")


def parse_oracles(value: str | None) -> tuple[str, ...]:
    """--oracle a,b: known names only (bad input otherwise), in the order given, each once."""
    if value is None:
        return ORACLE_NAMES
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in ORACLE_NAMES]
    if unknown or not names:
        raise UsageError(f"--oracle {value} names {'no oracle' if not names else 'an unknown oracle: ' + unknown[0]}; "
                         f"use one or more of {', '.join(ORACLE_NAMES)}, comma-separated.")
    return tuple(dict.fromkeys(names))


def check_out_dir(path: str | None) -> Path | None:
    """--out DIR must be a directory we can write (tried, as report paths are); made when missing."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {path} is a file; give a directory for the reduced .sql files.")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".test-rig-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"--out {path} cannot be written ({e.strerror or e}); choose another directory.") from None
    return p


def read_known_option(path: str | None) -> frozenset[str]:
    """--known FILE: the signatures it lists (or those of the reduced .sql files it names, or of the .sql files
    under a directory)."""
    if path is None:
        return frozenset()
    from test_rig.hunt.finding import read_known

    if Path(path).is_dir() and not any(Path(path).rglob("*.sql")):
        raise UsageError(f"--known {path} is a directory with no .sql file in it; give a directory of reduced "
                         ".sql files, one such file, or a file of signatures.")

    try:
        return frozenset(read_known(Path(path)))
    except (OSError, UnicodeDecodeError) as e:
        entry = getattr(e, "filename", None)
        if entry is not None and Path(entry) != Path(path):  # a .sql file the list names, not the list itself
            reason = getattr(e, "strerror", None) or e
            raise UsageError(f"--known {path} names {entry}, which cannot be read ({reason}); a relative path in it "
                             "is read from the list's own directory.") from None
        raise UsageError(f"--known {path} cannot be read ({getattr(e, 'strerror', None) or e}); give a file of "
                         "signatures or reduced .sql files.") from None


@dataclasses.dataclass(frozen=True)
class HuntOptions:
    """What the `hunt` command is asked, as given: each field with its default and help (test_rig.options: the
    command's options are made from them); `spec` checks them into the run's HuntSpec."""

    oracle_names: str | None = option(None, f"Oracles, comma-separated (default all): {', '.join(ORACLE_NAMES)}.",
                                      flag="--oracle", metavar="NAMES")
    duration: float | None = option(None, "Seconds to hunt (default 60, or until --queries).")
    queries: int | None = option(None, "Stop after this many checked queries (over all oracles and connections).",
                                 low=1)
    seed: int = option(0, "The generator's seed: same seed, same SQL.")
    connections: int = option(1, "Workers, each with a database of its own.", low=1, high=64)
    processes: int = option(1, "Worker processes sharing --connections, each with databases of its own (one "
                            "process uses one core).", low=1, high=64)
    reduce_time: float = option(60.0, "Seconds to spend reducing each confirmed finding (0: report it unreduced).",
                                low=0)
    known_path: str | None = option(None, "Signatures (or reduced .sql files) of bugs already reported, or a "
                                    "directory of reduced .sql files: counted, not reported again.",
                                    flag="--known", metavar="FILE|DIR")
    out_dir: str | None = option(None, "Write each finding's reduced .sql file here.", flag="--out", metavar="DIR")
    log_path: str | None = option(None, "Write every statement sent here.", flag="--log", metavar="FILE")

    def spec(self) -> HuntSpec:
        """The run's spec (60 s when neither a duration nor a query count is given). Raises UsageError for bad
        input: an unknown oracle, a duration of 0 or less, an `--out` that cannot be written, a `--known` or
        `--log` that cannot be read or written, more processes than connections."""
        from test_rig.hunt.processes import shares
        from test_rig.hunt.runner import HuntSpec
        from test_rig.report.files import check_report_path

        oracles = parse_oracles(self.oracle_names)
        duration = self.duration
        if duration is not None and duration <= 0:
            raise UsageError(f"--duration {duration:g} must be more than 0 seconds; give how long to hunt, e.g. "
                             "--duration 60.")
        out = check_out_dir(self.out_dir)
        known = read_known_option(self.known_path)
        shares(self.connections, self.processes, self.queries)  # more processes than connections is bad input
        check_report_path(self.log_path, "--log")
        if duration is None and self.queries is None:
            duration = 60.0
        return HuntSpec(oracles, duration=duration, queries=self.queries, seed=self.seed,
                        connections=self.connections, reduce_seconds=self.reduce_time, known=known, out=out,
                        log=Path(self.log_path) if self.log_path else None, processes=self.processes)


def hunt(target: Target, spec: HuntSpec, *, on_second: Callable[[HuntRun], None] | None = None,
         left: list[str] | None = None) -> RunResult:
    """Hunt as `spec` says, in this process or in `spec.processes`; `target`'s database and session variables
    are not used (the run has databases of its own). Returns the result, also when interrupted (SIGINT,
    SIGTERM: `complete` false, "interrupted by ..."). Raises UsageError when the server refuses to create the
    run's databases, RigError when it cannot be reached; the databases it could not drop then are added to
    `left` (the Environment's left_on_server, which the error's report says), as the result says them otherwise."""
    from test_rig.environment import run_async
    from test_rig.hunt.processes import run_hunt_processes
    from test_rig.hunt.runner import HuntRun, run_hunt

    target = dataclasses.replace(target.with_database(None), session_variables={})
    run = HuntRun(spec)
    error: str | None = None
    try:
        run_async(lambda: run_hunt(target, run, on_second=on_second) if spec.processes == 1 else
                  run_hunt_processes(target, run, on_second=on_second))
    except KeyboardInterrupt as e:
        error = f"interrupted by {signal_name(e)}"
    except BaseException:
        if left is not None:
            left.extend(name for name in run.left if name not in left)
        raise
    data = result_dict(run, error)
    return RunResult("hunt", ok=data.pop("ok"), complete=data.pop("complete"), error=data["error"], payload=data)


def result_dict(run: HuntRun, error: str | None) -> dict[str, Any]:
    """The hunt's result: `failed` counts the new bugs; a run that checked nothing is undecided."""
    data: dict[str, Any] = run.to_dict()
    new = data["new_bugs"]
    data.update({"complete": error is None and run.complete, "error": error or run.error, "failed": new})
    if new:
        data["failed_because"] = f"{new} new bug{'s' if new != 1 else ''} found"
    if error is None and run.error is not None:
        data["exit_status"] = 1  # ended early without being interrupted: incomplete, exit 1 (not 130)
    if new:
        data["ok"] = False
    elif data["checked_total"] == 0:
        data["ok"], data["undecided"] = True, 1
        data["reason_undecided"] = "no query was checked: every generated query failed or the run ended first"
    else:
        data["ok"] = True
    return data  # databases the clean-up could not drop are in `left_on_server` (results.judge fails the run)
