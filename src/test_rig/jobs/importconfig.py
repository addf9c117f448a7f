"""The job monitor's import config (`--import-config FILE`, JSON or TOML, as in the original tool):
monitor_duration, update_interval, show_details, and optionally a job to start and then watch."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test_rig.errors import UsageError

KEYS = {"monitor_duration", "update_interval", "show_details", "job"}


@dataclass
class ImportConfig:
    path: Path
    values: dict[str, Any]
    job_sql: str | None = None


def read_import_config(path_text: str) -> ImportConfig:
    """Read and check the file; every problem is one UsageError sentence naming the file."""
    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"Import config {path} cannot be read ({getattr(e, 'strerror', None) or e}); check the "
                         "path given to --import-config.") from None
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        raise UsageError(f"Import config {path} is not valid {kind}: {e}; fix it and run again.") from None
    if not isinstance(data, dict):
        raise UsageError(f"Import config {path} must hold an object with monitor_duration, update_interval and "
                         "show_details.")
    data = data.get("monitor", data) if isinstance(data.get("monitor"), dict) else data
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(f"Import config {path}: {unknown[0]} is not a known key (known: "
                         f"{', '.join(sorted(KEYS))}).")
    values: dict[str, Any] = {}
    for key in ("monitor_duration", "update_interval"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise UsageError(f"Import config {path}: {key} must be a number of seconds above 0, not "
                                 f"{_shown(value)}.")
            values[key] = float(value)
    if "show_details" in data:
        if not isinstance(data["show_details"], bool):
            raise UsageError(f"Import config {path}: show_details must be true or false, not "
                             f"{_shown(data['show_details'])}.")
        values["show_details"] = data["show_details"]
    job = data.get("job")
    if job is not None and not (isinstance(job, str) and job.strip()):
        sql = job.get("sql") if isinstance(job, dict) else None
        if not (isinstance(sql, str) and sql.strip()):
            raise UsageError(f"Import config {path}: job must be an SQL statement (or a table with sql = ...).")
        job = sql
    return ImportConfig(path, values, job.strip() if isinstance(job, str) else None)


def _shown(value: Any) -> str:
    """A config value as the file spells it (null, "text", true), never as a Python repr."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf: what TOML writes
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)
