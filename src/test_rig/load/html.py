"""The load workloads' part of a bench HTML report: the OLTP run's statements by type (with sysbench's count per
transaction and the read/write/other sums) or a user workload's tasks, as tables. Reads the --json result only;
html.py draws the page frame and bench's throughput, latency and fault plots. Empty for a result that has neither."""

from __future__ import annotations

from typing import Any

from test_rig.report.html import esc, table

_HEADINGS = ["count", "per s", "errors", "errors by code", "p50 ms", "p95 ms", "p99 ms", "max ms"]


def _table(title: str, first: str, rows: dict[str, Any], ident: str) -> str:
    body = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(r.get('count'))}</td><td>{esc(r.get('per_second'))}</td>"
        f"<td>{esc(r.get('errors'))}</td>"
        f"<td>{esc(', '.join(f'{c}: {n}' for c, n in (r.get('errors_by_code') or {}).items()) or 'none')}</td>"
        + "".join(f"<td>{esc(r.get(k))}</td>" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")) + "</tr>"
        for name, r in rows.items())
    return f"<h2>{esc(title)}</h2>\n" + table(ident, [first, *_HEADINGS], body, f"No {first} ran.")


def section(data: dict[str, Any]) -> str:
    """The statements or tasks tables of a bench result, or "" when it has neither."""
    parts = []
    statements = data.get("statements")
    if isinstance(statements, dict):
        q = data.get("queries") or {}
        parts.append(f"<p>{esc(data.get('transactions'))} transactions ({esc(data.get('tps'))} per s), "
                     f"{esc(q.get('total'))} queries ({esc(q.get('per_second'))} per s): read {esc(q.get('read'))}, "
                     f"write {esc(q.get('write'))}, other {esc(q.get('other'))}; failed transactions "
                     f"{esc(data.get('failed_transactions'))}, ignored errors {esc(data.get('ignored_errors'))}."
                     "</p>")
        parts.append(_table("Statements by type", "statement", statements, "statements"))
        per = data.get("per_transaction") or {}
        if per:
            parts.append("<p>Per transaction, as sysbench sends for these options: "
                         + esc(", ".join(f"{k} {n}" for k, n in per.items())) + ".</p>")
    tasks = data.get("tasks")
    if isinstance(tasks, dict):
        parts.append(_table("Tasks", "task", tasks, "tasks"))
        failures = [f"task {name}: {f}" for name, t in tasks.items() for f in t.get("failures") or []]
        if failures:
            parts.append("<ul>" + "".join(f"<li>{esc(f)}</li>" for f in failures) + "</ul>")
    return "\n".join(parts)
