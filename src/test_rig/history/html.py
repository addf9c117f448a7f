"""The history part of an `elle` or `check` HTML report: the verdict in the words of the console (Summary), each
anomaly kind with up to three of its cases (a cycle drawn as a graph), why the verdict is undecided, and elle's
load. Reads the --json result only; report/html.py draws the page frame."""

from __future__ import annotations

from typing import Any

from test_rig.history.report import Summary
from test_rig.report.html import esc, free_run


def _cycle(cycle: list[str], edges: list[str]) -> str:
    import math

    n = len(cycle)
    r, cx, cy = 70, 110, 100
    pos = [(cx + r * math.cos(2 * math.pi * i / n - math.pi / 2), cy + r * math.sin(2 * math.pi * i / n - math.pi / 2))
           for i in range(n)]
    out = ['<svg class="cycle" width="220" height="200"><defs><marker id="a" markerWidth="8" markerHeight="8" '
           'refX="14" refY="3" orient="auto"><path d="M0,0 L0,6 L8,3 z" fill="#555"/></marker></defs>']
    for i in range(n):
        (x0, y0), (x1, y1) = pos[i], pos[(i + 1) % n]
        out.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#555" '
                   f'marker-end="url(#a)"/><text x="{(x0 + x1) / 2:.1f}" y="{(y0 + y1) / 2:.1f}" font-size="11" '
                   f'fill="#c62828">{esc(edges[i] if i < len(edges) else "")}</text>')
    for (x, y), name in zip(pos, cycle, strict=True):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="16" fill="#e3f2fd" stroke="#1565c0"/>'
                   f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="10" text-anchor="middle">{esc(name)}</text>')
    return "".join(out) + "</svg>"


def section(data: dict[str, Any]) -> str:
    said = Summary.of(data)
    parts = [f"<h2>History: {esc(said.verdict)} under {esc(said.model)}</h2>",
             f"<p>transactions: {esc(said.transactions)}"
             + (f"; {esc(said.ruled_out)}" if said.ruled_out else "") + "</p>"]
    for kind, count in said.kinds.items():
        parts.append(f"<h3 class='anomaly'>{esc(kind)}: {esc(count)}</h3>")
        for a in data["anomalies"][kind][:3]:
            graph = _cycle(a["cycle"], a.get("edges") or []) if a.get("cycle") else ""
            parts.append(f"<div class='case'>{graph}<pre>{esc(a['explanation'])}</pre></div>")
    parts += [f"<p class='undecided'>undecided: {esc(reason)}</p>" for reason in said.undecided]
    if data.get("timeline"):
        parts.append(free_run(data))
    return "\n".join(parts)
