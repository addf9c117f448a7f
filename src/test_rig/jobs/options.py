"""The job monitor's options resolved into what it runs: every duration and interval checked, each value taken
from where it has precedence (command line > environment > import config > main config file > defaults), and
the options --cancel has no use for refused. Bad input is one UsageError sentence naming where the value came
from, before anything is sent to a server."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from test_rig.errors import UsageError
from test_rig.jobs.importconfig import ImportConfig, read_import_config
from test_rig.jobs.model import job_id_problem
from test_rig.jobs.monitor import MonitorSettings
from test_rig.jobs.sources import SOURCES
from test_rig.options import LONGEST_SECONDS, option

#: The longest monitor duration and update interval accepted: a year, beyond which no timer is reliable.
MAX_DURATION = float(LONGEST_SECONDS)
#: Polling more often than this loads the server without showing anything more.
MIN_INTERVAL = 0.1

_FLAGS = {"monitor_duration": "-t/--monitor-duration", "update_interval": "--update-interval",
          "show_details": "--show-details", "import_config": "--import-config", "job_ids": "--job-id",
          "until_done": "--until-done"}


@dataclass(frozen=True)
class MonitorOptions:
    """The job-monitor options as typed (None: not given), each with its help (test_rig.options: the command's
    options are made from them)."""

    monitor_duration: float | None = option(None, "Seconds to monitor (default monitor.monitor_duration, 300).",
                                            low=0, above=True, flag="-t --monitor-duration")
    update_interval: float | None = option(None, "Seconds between polls (default monitor.update_interval, 5).",
                                           low=0, above=True)
    show_details: bool | None = option(None, "Print each job's full record (default monitor.show_details).")
    import_config: str | None = option(None, "JSON or TOML with monitor_duration, update_interval, show_details and "
                                       "optionally a job (SQL) to start and watch.", metavar="FILE")
    job_ids: tuple[str, ...] = option((), "Watch only this job (repeatable).", flag="--job-id", metavar="ID")
    until_done: bool = option(False, "Stop as soon as every watched job has ended (waiting for the first one to "
                              "appear).")
    source: str | None = option(None, "Where jobs come from (default: from the server kind; TiDB: import and ddl).",
                                choices=SOURCES)
    cancel_id: str | None = option(None, "Cancel this job (TiDB import or DDL job, or a MariaDB/MySQL statement) "
                                   "and exit.", flag="--cancel", metavar="ID")

    def check(self) -> ImportConfig | None:
        """Check what needs no configuration: the job ids, the options --cancel would ignore, and the import
        config file, which is read and returned."""
        for given in (*self.job_ids, *([self.cancel_id] if self.cancel_id is not None else [])):
            problem = job_id_problem(given)
            if problem is not None:
                raise UsageError(problem)
        if self.cancel_id is not None:  # --cancel cancels one job and exits: monitoring options do not apply
            used = [flag for name, flag in _FLAGS.items() if getattr(self, name) not in (None, False, ())]
            if used:
                raise UsageError(f"--cancel cancels one job and exits, so {', '.join(used)} would be ignored; drop "
                                 f"{'it' if len(used) == 1 else 'them'} or run the monitor without --cancel.")
        return read_import_config(self.import_config) if self.import_config else None


@dataclass(frozen=True)
class MonitorPlan:
    """What the monitor will do: its settings, whether it prints each job's record, the job it starts."""

    settings: MonitorSettings
    show_details: bool
    job_sql: str | None

    def describe(self, address: str) -> str:
        """The run's first console line."""
        s = self.settings
        what = ", ".join([*(["the job of the import config"] if self.job_sql else []),
                          *([f"jobs {', '.join(s.job_ids)}"] if s.job_ids else [])]) or "every job"
        return (f"test-rig job-monitor: {what} on {address}, every {s.interval:g} s for up to {s.duration:g} s"
                f"{' or until done' if s.until_done else ''}")


def plan(options: MonitorOptions, imported: ImportConfig | None, configured: Any,
         sources: Mapping[str, str]) -> MonitorPlan:
    """The monitor's plan from the options, the import config and the `monitor` section of the configuration
    (`configured`; `sources` says where each of its keys came from)."""

    def pick(name: str, given: Any) -> tuple[Any, str]:
        if given is not None:
            return given, _FLAGS[name]
        where = sources.get(f"monitor.{name}", "defaults")
        if imported is not None and name in imported.values and not where.startswith("environment"):
            return imported.values[name], f"{name} in import config {imported.path}"
        return getattr(configured, name), where

    duration = _seconds(*pick("monitor_duration", options.monitor_duration), interval=False)
    interval = _seconds(*pick("update_interval", options.update_interval), interval=True)
    if interval > duration:
        raise UsageError(f"The update interval ({interval:g} s) is longer than the monitor duration ({duration:g} s); "
                         "shorten --update-interval or lengthen -t/--monitor-duration.")
    return MonitorPlan(MonitorSettings(duration, interval, list(options.job_ids), options.until_done, options.source),
                       bool(pick("show_details", options.show_details)[0]), imported.job_sql if imported else None)


def _seconds(value: Any, where: str, *, interval: bool) -> float:
    """A number of seconds from `where`, checked: finite, above 0 (an interval at least MIN_INTERVAL) and at
    most MAX_DURATION; otherwise one UsageError sentence naming where the value came from."""
    name = where if where != "defaults" else "the default"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: {value} is not a number of seconds; give one such as 5.") from None
    if not math.isfinite(seconds):
        raise UsageError(f"{name}: {value} is not a number of seconds; give a finite number such as 5.")
    if interval and 0 < seconds < MIN_INTERVAL:
        raise UsageError(f"{name}: {seconds:g} s is too short an update interval; give at least {MIN_INTERVAL:g} s "
                         "(polling more often only loads the server).")
    if seconds <= 0 or seconds > MAX_DURATION:
        raise UsageError(f"{name}: {seconds:g} s is out of range; give more than 0 and at most {MAX_DURATION:.0f} "
                         "seconds (a year).")
    return seconds
