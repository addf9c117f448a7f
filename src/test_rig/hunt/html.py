"""The hunt's section of the HTML report: the statistics, and each bug once with its count, its reduced SQL
and the results that must agree side by side. Reads the --json result only (html.py draws the page frame)."""

from __future__ import annotations

import json
from typing import Any

from test_rig.report.html import esc as _esc
from test_rig.report.html import table


def _rows(result: Any) -> str:
    if not isinstance(result, list):
        return f"<pre>{_esc(result)}</pre>"
    body = "".join("<tr>" + "".join(f"<td>{'NULL' if v is None else _esc(v)}</td>" for v in row) + "</tr>"
                   for row in result[:50])
    more = f"<p>… {len(result) - 50} more rows</p>" if len(result) > 50 else ""
    return f"<p>{len(result)} rows</p><table>{body}</table>{more}"


def _found_by(f: dict[str, Any]) -> str:
    oracles = f.get("oracles") or {f.get("oracle"): f.get("count")}
    return next(iter(oracles)) if len(oracles) == 1 else ", ".join(f"{k} {v}" for k, v in oracles.items())


def section(data: dict[str, Any]) -> str:
    checked = data.get("checked") or {}
    stats = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td><td>{_esc((data.get('skipped') or {}).get(k, 0))}"
                    "</td></tr>" for k, v in checked.items())
    parts = [f"""<h2>Hunt</h2>
<p>{_esc(data.get('checked_total', 0))} checked queries in {_esc(data.get('seconds'))} s
({_esc(data.get('checked_per_second'))}/s), seed {_esc(data.get('seed'))}, generator version
{_esc(data.get('generator_version'))}; candidates {_esc(data.get('candidates'))}, confirmed
{_esc(data.get('confirmed'))}, flaky {_esc(data.get('flaky'))}.</p>
{table("hunt-stats", ["oracle", "checked", "skipped (expected errors)"], stats, "No query was checked.")}"""]
    findings = data.get("findings") or []
    if not findings:
        parts.append("<p>No finding.</p>")
    for i, f in enumerate(findings):
        results = f.get("results") or []
        labels = f.get("labels") or []
        cells = "".join(f"<td style='vertical-align:top'><b>{_esc(label)}</b><pre>{_esc(query)}</pre>"
                        f"{_rows(result)}</td>"
                        for label, query, result in zip(labels, f.get("queries") or [], results, strict=False))
        shapes = f" in {_esc(f.get('shapes'))} shapes" if (f.get("shapes") or 1) > 1 else ""
        parts.append(f"""<div class="finding" id="finding-{i}" data-known="{json.dumps(bool(f.get('known')))}">
<h3>{'known' if f.get('known') else 'NEW'} {_esc(f.get('kind'))} ({_esc(_found_by(f))}), seen {_esc(f.get('count'))}
times{shapes}, id {_esc(f.get('id'))}</h3>
<p>{_esc(f.get('description'))}</p><p><code>{_esc(f.get('signature'))}</code></p>
<table class="side-by-side"><tr>{cells}</tr></table>
<details><summary>Reduced .sql</summary><pre>{_esc(f.get('sql'))}</pre></details></div>""")
    return "\n".join(parts)
