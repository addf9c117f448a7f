"""HTML reports: one self-contained file, rendered from a command's JSON result and nothing else, so a
report can be rendered again later from the JSON a CI run kept. Works offline: plotly's own JavaScript
is embedded, nothing is fetched.

One renderer for every command: the page frame (status banner, server and settings) is shared, and a
section per kind of result (isolation table, free-running timeline, job progress, history anomalies,
connection events) is drawn from the fields the JSON has.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_rig.errors import UsageError, by_code_text
from test_rig.results import CELL, Outcome, judge

#: Nothing may be fetched: the page's own inline script and styles only (plotly needs eval for some plots).
_CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:"
#: Every command that writes a --json result; a result's "command" is one of these, or one of them and its
#: workload ("bench select-1"). Each has a report: its own section where it has one, else its facts.
COMMANDS = ("basic", "simple-multi-connection", "multi-connection", "run", "isolation", "bench", "elle", "check",
            "job-monitor", "gen-data", "hunt")
#: An isolation cell's colour and mark by its verdict's word (results.CELL's, and "unsupported": a refused level).
_COLOURS = {CELL.valid: "#2e7d32", CELL.invalid: "#c62828", CELL.unknown: "#f9a825", "unsupported": "#9e9e9e"}
_MARKS = {CELL.valid: "✓", CELL.invalid: "✗", CELL.unknown: "?", "unsupported": "–"}


def read_result(path: str | Path) -> dict[str, Any]:
    """A command's --json result; a file that is not one is a UsageError naming what is wrong."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{p} cannot be read ({getattr(e, 'strerror', None) or e}); give a --json result file.") \
            from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{p} is not JSON ({e}); give a file written by a test-rig command's --json.") from None
    check_result(data, str(p))
    return data  # type: ignore[no-any-return]


def check_result(data: Any, source: str = "the result") -> None:
    """Raise UsageError unless `data` is a result some test-rig command wrote: one of COMMANDS, or any command
    whose report carries the verdict every report since results.settle has (`outcome` and `reason`), such as
    a command newer than this list."""
    if not isinstance(data, dict) or "command" not in data:
        raise UsageError(f"{source} is not a test-rig result (no \"command\" field); give a file written by --json.")
    settled = data.get("outcome") in {str(o) for o in Outcome} and isinstance(data.get("reason"), str)
    if str(data["command"]).split(" ", 1)[0] not in COMMANDS and not settled:
        raise UsageError(f"{source} is a result of '{data['command']}', which is not a test-rig command; give a file "
                         f"written by the --json of {', '.join(COMMANDS)}.")


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    return js


def esc(value: Any) -> str:
    """Text for the page (also for the feature sections: hunt/html.py); a value the result does not have (JSON
    null) shows as a dash, never Python's None."""
    return html.escape("–" if value is None else str(value), quote=True)


def table(ident: str, headings: list[str], rows: str, nothing: str) -> str:
    """A table of `rows` (<tr> elements) under `headings` (also for the feature sections); for no rows, the
    sentence `nothing` instead (a run that failed or was interrupted before it had any: a header over nothing says
    less)."""
    if not rows:
        return f"<p id='{ident}'>{esc(nothing)}</p>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headings)
    return f"<table id='{ident}'><tr>{head}</tr>{rows}</table>"


def _json_for_script(value: Any) -> str:
    return json.dumps(value, default=str).replace("</", "<\\/")


def render(data: dict[str, Any]) -> str:
    """The whole page for one result."""
    check_result(data)
    command = str(data["command"])
    section = _SECTIONS.get(command.split(" ", 1)[0], _payload)
    body = "\n".join([_banner(data), _facts(data), section(data)])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>test-rig {esc(command)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #212121; }}
.banner {{ padding: .8em 1em; border-radius: 6px; font-weight: 600; margin-bottom: 1em; }}
.ok {{ background: #e8f5e9; color: #1b5e20; }} .bad {{ background: #ffebee; color: #b71c1c; }}
.warn {{ background: #fff8e1; color: #795548; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
th, td {{ border: 1px solid #ddd; padding: .25em .5em; font-size: 13px; }}
td.cell {{ cursor: pointer; color: white; text-align: center; font-weight: 700; }}
pre {{ background: #f5f5f5; padding: .6em; overflow-x: auto; font-size: 12px; }}
.facts td:first-child {{ font-weight: 600; }} .plot {{ width: 100%; height: 320px; }}
</style>
<script>{_plotly_js()}</script>
</head><body>
<h1>test-rig {esc(command)}</h1>
{body}
</body></html>
"""


def write_html(path: str | Path, data: dict[str, Any], *, redact: Callable[[str], str] | None = None) -> None:
    """The HTML report of `data`, scrubbed by `redact` (the run's redactor; none for a result read back from its
    JSON, which was scrubbed when it was written)."""
    text = render(data)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(redact(text) if redact is not None else text, encoding="utf-8")


def rerender(result_path: str | Path, html_path: str | Path) -> None:
    """`test-rig report`: the HTML report of a command's --json result. Both paths are checked before anything is
    read or rendered; every problem is a UsageError naming the path."""
    from test_rig.report.files import check_writable

    if Path(html_path).resolve() == Path(result_path).resolve():
        raise UsageError(f"--html {html_path} is the result file itself; choose another name for the report.")
    check_writable(html_path, "--html")
    data = read_result(result_path)
    try:
        write_html(html_path, data)
    except OSError as e:
        raise UsageError(f"--html {html_path} could not be written ({e.strerror or e}); choose another path.") \
            from None


def _banner(data: dict[str, Any]) -> str:
    """The status at the top, from the result's own verdict and nothing else, in the console's words: the same
    PASSED / FAILED / UNDECIDED / INTERRUPTED and reason as the run's last line."""
    judged = judge(data)
    kind, why = str(judged.outcome), judged.reason
    if kind == Outcome.INTERRUPTED:
        return (f'<div class="banner bad" id="status" data-verdict="{kind}">INTERRUPTED: {esc(why)}'
                " — what follows is what it saw until then.</div>")
    if kind == Outcome.FAILED:
        return f'<div class="banner bad" id="status" data-verdict="{kind}">FAILED: {esc(why)}</div>'
    if kind == Outcome.UNDECIDED:
        return f'<div class="banner warn" id="status" data-verdict="{kind}">UNDECIDED: {esc(why)}.</div>'
    return f'<div class="banner ok" id="status" data-verdict="{kind}">PASSED: {esc(why)}.</div>'


def _facts(data: dict[str, Any]) -> str:
    rows = []
    server = data.get("server") or {}
    if server:
        rows.append(("server", f"{server.get('kind', '?')} {server.get('version', '')}"
                     + (f" (txn mode {server['txn_mode']})" if server.get("txn_mode") else "")))
    for key in ("workload", "isolation_level", "consistency_model", "history", "connections", "table_size", "profile",
                "session_variables", "settings", "seconds", "qps"):
        if key == "connections" and isinstance(data.get(key), list):
            continue  # simple-multi-connection's list of runs has a section of its own
        if data.get(key) not in (None, {}, []):
            rows.append((key, json.dumps(data[key]) if isinstance(data[key], dict | list) else data[key]))
    if not rows:
        return ""
    return '<table class="facts">' + "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows) + \
        "</table>"


# --------------------------------------------------------------------------- isolation


def _isolation(data: dict[str, Any]) -> str:
    results = data.get("results") or []
    if not results:  # a run that failed or was interrupted before its first test: no table of nothing
        return "<h2>Isolation anomalies by level</h2>\n<p id='no-results'>No test ran.</p>"
    tests = list(dict.fromkeys(r["test"] for r in results))
    levels = list(dict.fromkeys(_level(r) for r in results))
    by_cell = {(_level(r), r["test"]): i for i, r in enumerate(results)}
    head = "<tr><th>level</th>" + "".join(f"<th>{esc(t)}</th>" for t in tests) + "</tr>"
    rows = []
    for level in levels:
        cells = []
        for test in tests:
            i = by_cell.get((level, test))
            if i is None:
                cells.append("<td></td>")
                continue
            outcome = results[i]["outcome"]
            cells.append(f'<td class="cell" data-index="{i}" data-outcome="{esc(outcome)}" '
                         f'style="background:{_COLOURS.get(outcome, "#616161")}" title="{esc(outcome)}">'
                         f"{_MARKS.get(outcome, '?')}</td>")
        rows.append(f"<tr><th>{esc(level)}</th>{''.join(cells)}</tr>")
    legend = " ".join(f'<span style="color:{c}">■</span> {o}' for o, c in _COLOURS.items())
    return f"""<h2>Isolation anomalies by level</h2>
<p>{legend}. Click a cell for its interleaving.</p>
<table id="isolation-table">{head}{''.join(rows)}</table>
<div id="detail"><p>No cell selected.</p></div>
<script type="application/json" id="isolation-data">{_json_for_script(results)}</script>
<script>
(function () {{
  const results = JSON.parse(document.getElementById('isolation-data').textContent);
  const colour = s => s.error ? '#c62828' : s.skipped ? '#9e9e9e' : s.blocked ? '#ef6c00' : '#2e7d32';
  function show(i) {{
    const r = results[i];
    const steps = r.steps || [];
    const lanes = [...new Set(steps.map(s => s.txn))];
    const end = Math.max(1, ...steps.map(s => s.end_ms || s.start_ms || 0));
    const width = 900, lane = 38, left = 50;
    let svg = `<svg id="timeline" width="${{width + left + 10}}" height="${{lanes.length * lane + 30}}">`;
    lanes.forEach((t, k) => {{ svg += `<text x="4" y="${{k * lane + 24}}" font-size="13">${{t}}</text>`; }});
    steps.forEach((s, n) => {{
      const k = lanes.indexOf(s.txn);
      const x0 = left + (s.start_ms || 0) / end * width, x1 = left + (s.end_ms || s.start_ms || 0) / end * width;
      const what = s.error ? 'ERROR ' + s.error_code + ': ' + s.error : s.rows ? 'rows ' + JSON.stringify(s.rows)
        : s.skipped ? 'skipped' : 'ok';
      const title = `#${{n + 1}} ${{s.sql}} — ${{s.blocked ? 'BLOCKED, then ' : ''}}${{what}}`
        .replace(/&/g, '&amp;').replace(/</g, '&lt;');
      svg += `<rect class="step" x="${{x0}}" y="${{k * lane + 8}}" width="${{Math.max(4, x1 - x0)}}" height="22"
        fill="${{colour(s)}}"><title>${{title}}</title></rect>`;
    }});
    svg += '</svg>';
    const esc = t => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const list = steps.map((s, n) => `<li>${{esc(s.txn)}} #${{n + 1}} <code>${{esc(s.sql)}}</code>
      ${{s.blocked ? ' — BLOCKED (' + esc(s.block_evidence || 'timing') + ')' : ''}}
      ${{s.error ? ' — ERROR ' + esc(s.error_code) + ': ' + esc(s.error) : ''}}
      ${{s.rows ? ' — rows ' + esc(JSON.stringify(s.rows)) : ''}}${{s.skipped ? ' — skipped' : ''}}</li>`).join('');
    document.getElementById('detail').innerHTML =
      `<h3>${{esc(r.test)}} at ${{esc(r.isolation)}}${{r.txn_mode ? ' (' + esc(r.txn_mode) + ')' : ''}}:
       ${{esc(r.outcome)}}</h3>
       <p id="explanation">${{esc(r.explanation)}}</p>${{svg}}<ol>${{list}}</ol>`;
  }}
  document.querySelectorAll('td.cell').forEach(td => td.addEventListener('click', () => show(+td.dataset.index)));
}})();
</script>"""


def _level(r: dict[str, Any]) -> str:
    from test_rig.report.files import level_label

    return level_label(str(r["isolation"]), r.get("txn_mode"))


# --------------------------------------------------------------------------- free-running runs


def _plot(div: str, traces: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    return (f'<div class="plot" id="{div}"></div><script>Plotly.newPlot("{div}", {_json_for_script(traces)}, '
            f'{_json_for_script(layout)}, {{"displaylogo": false, "responsive": true}});</script>')


def _fault_shapes(windows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaded bands and labels for the nemesis's fault windows (x: seconds since the load began)."""
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": w["start_s"],
               "x1": w["end_s"] if w.get("end_s") is not None else w["start_s"], "y0": 0, "y1": 1,
               "fillcolor": "#ffcc80" if w.get("ok") else "#ef9a9a", "opacity": 0.35, "line": {"width": 0}}
              for w in windows]
    labels = [{"x": w["start_s"], "y": 1, "xref": "x", "yref": "paper", "text": w["kind"], "showarrow": False,
               "xanchor": "left", "yanchor": "bottom", "font": {"size": 10}} for w in windows]
    return shapes, labels


def _faults_table(nemesis: dict[str, Any]) -> str:
    rows = "".join(f"<tr class='{'ok' if w.get('ok') else 'bad'}'><td>{esc(w['kind'])}</td>"
                   f"<td>{esc(w['start_s'])}</td><td>{esc(w.get('end_s'))}</td><td>{esc(w.get('action'))}</td>"
                   f"<td>{esc(w.get('heal'))}</td><td>{esc(w.get('error') or '')}</td></tr>"
                   for w in nemesis.get("windows") or [])
    return (f"<h2>Faults</h2><p>{esc(nemesis.get('description'))}</p><table id='faults'><tr><th>fault</th>"
            f"<th>from s</th><th>to s</th><th>done</th><th>healed</th><th>error</th></tr>{rows}</table>")


def free_run(data: dict[str, Any]) -> str:
    """A free-running load's plots (throughput, latency, errors, fault windows), also for the feature sections
    (history/html.py draws elle's)."""
    timeline = data.get("timeline") or []
    # Entry t covers [t-1, t) seconds since the load began: plot it at the middle, so fault windows (drawn in the
    # same seconds) cover exactly the seconds they touched.
    t = [e["t"] - 0.5 for e in timeline]
    nemesis = data.get("nemesis") or {}
    shapes, labels = _fault_shapes(nemesis.get("windows") or [])
    parts = ["<h2>Throughput</h2>", _plot("throughput", [
        {"x": t, "y": [e["ops"] for e in timeline], "type": "scatter", "mode": "lines+markers", "name": "ops/s"},
        {"x": t, "y": [e.get("errors", 0) for e in timeline], "type": "scatter", "mode": "lines+markers",
         "name": "errors/s"}], {"xaxis": {"title": {"text": "seconds since the load began"}},
                                "yaxis": {"title": {"text": "per second"}}, "margin": {"t": 20}, "shapes": shapes,
                                "annotations": labels})]
    parts += ["<h2>Latency over time</h2>", _plot("latency", [
        {"x": t, "y": [e.get(f"p{p}_ms") for e in timeline], "type": "scatter", "mode": "lines+markers",
         "name": f"p{p}", "connectgaps": False} for p in (50, 95, 99)],
        {"xaxis": {"title": {"text": "seconds since the load began"}}, "yaxis": {"title": {"text": "ms"}},
         "margin": {"t": 20},
         "shapes": shapes, "annotations": labels})]
    if nemesis:
        parts.append(_faults_table(nemesis))
    hist = data.get("latency_histogram") or []
    parts += ["<h2>Latency histogram</h2>", _plot("histogram", [
        {"x": [h[0] for h in hist], "y": [h[1] for h in hist], "type": "bar", "name": "operations"}],
        {"xaxis": {"title": {"text": "latency up to (ms)"}, "type": "log"}, "yaxis": {"title": {"text": "operations"}},
         "margin": {"t": 20}})]
    codes = sorted({c for e in timeline for c in (e.get("errors_by_code") or {})})
    if codes:
        parts += ["<h2>Errors by code over time</h2>", _plot("errors", [
            {"x": t, "y": [(e.get("errors_by_code") or {}).get(c, 0) for e in timeline], "type": "bar", "name": c}
            for c in codes], {"barmode": "stack", "xaxis": {"title": {"text": "second"}}, "margin": {"t": 20}})]
    outage = [e["t"] for e in timeline if e["ops"] == 0]
    if outage:
        during = [x for x in outage if timeline[x - 1].get("faults")]
        parts.append(f'<p class="banner warn" id="gap">No operation completed in second(s) '
                     f'{", ".join(str(x) for x in outage)}: the server was unreachable or stalled'
                     + (f" ({len(during)} of them during the nemesis's faults)" if nemesis else "") + ".</p>")
    codes_text = esc(by_code_text(data.get("errors_by_code") or {}, data.get("error_messages")) or "none")
    parts.append(f"<p>{esc(data.get('operations', 0))} operations, {esc(data.get('errors', 0))} errors, "
                 f"errors by code {codes_text}, p50 {esc(data.get('p50_ms'))} ms, "
                 f"p99 {esc(data.get('p99_ms'))} ms, reconnects {esc(data.get('reconnects'))}.</p>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- jobs


def _jobs(data: dict[str, Any]) -> str:
    jobs = data.get("jobs") or []
    traces = [{"x": [s["t"] for s in j["samples"]], "y": [s["progress"] for s in j["samples"]], "type": "scatter",
               "mode": "lines+markers", "name": f"{j['kind']} {j['id']} {j.get('target') or ''} ({j['status']})"}
              for j in jobs]
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": g["from"], "x1": g["to"] if g["to"] is not None
               else g["from"], "y0": 0, "y1": 1, "fillcolor": "#ffcdd2", "opacity": 0.5, "line": {"width": 0}}
              for g in data.get("gaps") or []]
    rows = "".join(f"<tr><td>{esc(j['kind'])} {esc(j['id'])}</td><td>{esc(j.get('target'))}</td>"
                   f"<td>{esc(j['status'])}</td><td>{esc((j.get('final') or {}).get('message') or '')}</td></tr>"
                   for j in jobs)
    gaps = "".join(f"<li>{esc(g['from'])} s – {esc(g['to']) + ' s' if g.get('to') is not None else 'the end'}: "
                   f"{esc(g['error'])}</li>" for g in data.get("gaps") or [])
    return ("<h2>Progress</h2>" + _plot("progress", traces, {
        "xaxis": {"title": {"text": "seconds since the monitor started"}},
        "yaxis": {"title": {"text": "progress"}, "range": [0, 1.05]}, "shapes": shapes, "margin": {"t": 20}})
        + table("jobs", ["job", "target", "status", "message"], rows, "No job was observed.")
        + (f"<h3>Gaps (the server did not answer)</h3><ul id='gaps'>{gaps}</ul>" if gaps else ""))


# --------------------------------------------------------------------------- connection events


def _events(data: dict[str, Any]) -> str:
    events = "".join(f"<tr><td>{esc(e['t'])}</td><td>{esc(e['kind'])}</td><td>{esc(e.get('connection') or '')}"
                     f"</td><td>{esc(e.get('detail') or '')}</td></tr>" for e in data.get("events") or [])
    conns = "".join(f"<tr><td>{esc(c.get('name'))}</td><td>{'ok' if c.get('ok') else 'FAILED'}</td>"
                    f"<td>{esc(c.get('error') or '')}</td></tr>" for c in data.get("connections") or [])
    return ("<h2>Events</h2>" + table("events", ["s", "event", "connection", "detail"], events, "No event.")
            + "<h2>Connections</h2>"
            + table("connections", ["name", "result", "error"], conns, "No connection ended."))


# --------------------------------------------------------------------------- basic flows and gen-data


def _states_table(states: list[dict[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{esc(st.get('display') or st.get('state'))}</td><td>{esc(st.get('ms'))}</td></tr>"
                   for st in states)
    return f"<table class='states'><tr><th>state</th><th>ms</th></tr>{rows}</table>"


def _basic(data: dict[str, Any]) -> str:
    parts = ["<h2>States</h2>", _states_table(data.get("states") or [])]
    if data.get("error"):
        parts.append(f"<p id='error'>error: {esc(data['error'])}</p>")
    if data.get("hint"):
        parts.append(f"<p id='hint'>hint: {esc(data['hint'])}</p>")
    return "\n".join(parts)


def _basic_runs(runs: list[dict[str, Any]], title: str, key: str) -> str:
    """One row per connection (simple-multi-connection) or handler (run): how it ended and its states."""
    rows = "".join(f"<tr><td>{esc(r.get(key))}</td><td>{'ok' if r.get('ok') else 'FAILED'}</td>"
                   f"<td>{esc(' → '.join(str(st.get('state')) for st in r.get('states') or []))}</td>"
                   f"<td>{esc(r.get('error') or '')}</td></tr>" for r in runs)
    return f"<h2>{esc(title)}</h2>" + table("runs", [key, "result", "states", "error"], rows,
                                              f"No {title.lower()[:-1]} ended.")


def _gen_data(data: dict[str, Any]) -> str:
    def facts(title: str, values: dict[str, Any], ident: str) -> str:
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc('' if v is None else v)}</td></tr>"
                       for k, v in values.items())
        return f"<h2>{esc(title)}</h2><table class='facts' id='{ident}'>{rows}</table>"

    parts = [facts("Generated", data["generated"], "generated") if data.get("generated") else
             "<h2>Generated</h2><p id='generated'>Nothing was generated.</p>"]
    if data.get("loaded"):
        parts.append(facts("Loaded", data["loaded"], "loaded"))
    return "\n".join(parts)


# --------------------------------------------------------------------------- any other command


def _payload(data: dict[str, Any]) -> str:
    """The section of a command that has none of its own: every field of its result beyond the shared frame,
    as the JSON says it (so a newer command's report is complete, if plain)."""
    shown = {"command", "ok", "complete", "outcome", "reason", "server", "settings"}
    rows = "".join(f"<tr><td>{esc(k)}</td><td><pre>{esc(json.dumps(v, indent=1, default=str))}</pre></td></tr>"
                   for k, v in data.items() if k not in shown)
    return f"<h2>Result</h2><table class='facts' id='payload'>{rows}</table>"


def _drawn_by(module: str) -> Callable[[dict[str, Any]], str]:
    """The `section` of a feature's own HTML module, found by name: reports sit below the features and know them
    only as plug-ins (hunt/html.py, load/html.py, history/html.py)."""
    import importlib

    drawn: Callable[[dict[str, Any]], str] = importlib.import_module(module).section
    return drawn


def _bench(data: dict[str, Any]) -> str:
    """A bench result: the load's plots when it ran one (prepare, cleanup and tpcc-check results have none), the
    workload's own tables (OLTP statements, user tasks: drawn in load/html.py) and TPC-C's checks and figures."""
    parts = [free_run(data)] if data.get("timeline") is not None else []
    parts.append(_drawn_by("test_rig.load.html")(data))
    extra: dict[str, Any] = {k: data[k] for k in ("checks", "tpmC", "new_orders", "transaction_types", "options")
                             if k in data}
    if extra:  # the rest of a result without a load (prepare, cleanup) is in the shared facts table already
        parts.append(_payload({"command": data.get("command"), **extra}))
    return "\n".join(p for p in parts if p)


#: The section each command's report has below the shared frame (banner and facts); any other gets `_payload`.
_SECTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "isolation": _isolation,
    "bench": _bench,
    "job-monitor": _jobs,
    "elle": lambda d: _drawn_by("test_rig.history.html")(d),
    "check": lambda d: _drawn_by("test_rig.history.html")(d),
    "multi-connection": _events,
    "basic": _basic,
    "simple-multi-connection": lambda d: _basic_runs(d.get("connections") or [], "Connections", "name"),
    "run": lambda d: _basic_runs(d.get("results") or [], "Handlers", "handler"),
    "gen-data": _gen_data,
    "hunt": lambda d: _drawn_by("test_rig.hunt.html")(d),
}
