"""HTML reports opened in a real headless Chromium: no console errors, no network requests, the content the
result holds, a screenshot kept in test-artifacts/ and checked to show something."""

from __future__ import annotations

import json
from pathlib import Path

from test_rig.isolation.catalogue import ALL_TESTS
from test_rig.servers.sandbox import SandboxState
from tests.helpers import browse, env_for, run_cli
from tests.integration.test_report_any import banner, rerendered


def clean(seen: dict[str, object]) -> None:
    assert seen["errors"] == [], seen["errors"]
    assert seen["requests"] == [], seen["requests"]  # self-contained: nothing fetched
    assert seen["blank"] is False


def test_isolation_report_has_a_cell_per_level_and_test(sandbox: SandboxState, tmp_path: Path) -> None:
    out, page = tmp_path / "iso.json", tmp_path / "isolation-report.html"
    r = run_cli("isolation", "--json", str(out), "--html", str(page), "--no-password-prompt", env=env_for(sandbox),
                timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    results = json.loads(out.read_text())["results"]
    seen = browse(page, click="td.cell[data-index='0']", evaluate="""() => ({
        cells: [...document.querySelectorAll('td.cell')].map(td => [+td.dataset.index, td.dataset.outcome]),
        explanation: document.getElementById('explanation').textContent,
        steps: document.querySelectorAll('#timeline rect.step').length,
        status: document.getElementById('status').textContent })""")
    clean(seen)
    value = seen["value"]
    assert len(value["cells"]) == 4 * len(ALL_TESTS)
    assert [outcome for _, outcome in sorted(value["cells"])] == [x["outcome"] for x in results]
    assert value["explanation"] == results[0]["explanation"]
    assert value["steps"] == len(results[0]["steps"])
    assert value["status"] == "PASSED: every check passed."


def test_bench_report_has_a_point_per_second(sandbox: SandboxState, tmp_path: Path) -> None:
    out, page = tmp_path / "b.json", tmp_path / "bench-report.html"
    r = run_cli("bench", "point-select", "--duration", "4", "--connections", "2", "--table-size", "500", "--json",
                str(out), "--html", str(page), "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    seen = browse(page, evaluate="""() => ({
        ops: document.getElementById('throughput').data[0].y,
        p99: document.getElementById('latency').data[2].y,
        histogram: document.getElementById('histogram').data[0].y.reduce((a, b) => a + b, 0) })""")
    clean(seen)
    assert seen["value"]["ops"] == [t["ops"] for t in data["timeline"]]
    assert len(seen["value"]["ops"]) == 4
    assert seen["value"]["p99"] == [t["p99_ms"] for t in data["timeline"]]
    assert seen["value"]["histogram"] == data["operations"]


def test_elle_report_draws_each_cycle(sandbox: SandboxState, tmp_path: Path) -> None:
    out, page = tmp_path / "e.json", tmp_path / "elle-report.html"
    r = run_cli("elle", "list-append", "--duration", "3", "--keys", "3", "--isolation-level", "repeatable-read",
                "--json", str(out), "--html", str(page), "--no-password-prompt", env=env_for(sandbox))
    data = json.loads(out.read_text())
    # MariaDB's repeatable read is not repeatable read in Elle's sense: an invalid history, exit 1
    assert (r.returncode, data["valid"]) == (1, False), r.stdout + r.stderr
    seen = browse(page, evaluate="""() => ({
        kinds: [...document.querySelectorAll('h3.anomaly')].map(h => h.textContent.split(':')[0]),
        cycles: document.querySelectorAll('svg.cycle').length,
        summary: document.querySelector('h2 + p').textContent })""")
    clean(seen)
    assert seen["value"]["kinds"] == sorted(data["anomalies"])
    # the console's words: "invalid under MODEL; transactions: ..." and "not MODEL (nor ...)"
    console = r.stdout.splitlines()
    counts = next(line for line in console if line.startswith("invalid under ")).split("; ", 1)[1]
    ruled_out = next(line for line in console if line.startswith("not "))
    assert seen["value"]["summary"] == f"{counts}; {ruled_out}"
    shown = sum(min(3, len(v)) for k, v in data["anomalies"].items() if v and "cycle" in v[0])
    assert seen["value"]["cycles"] == shown and shown > 0
    assert rerendered(out) == banner(page) and banner(page)[0] == "failed"


def test_a_failed_run_says_so_at_the_top(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\ntimeout_secs = 1\n")
    out, page = tmp_path / "m.json", tmp_path / "failed-report.html"
    r = run_cli("multi-connection", "-c", str(cfg), "-H", "127.0.0.1:1", "--connection-count", "2",
                "--no-password-prompt", "--json", str(out), "--html", str(page))
    assert r.returncode == 1
    seen = browse(page, evaluate="() => document.getElementById('status').textContent")
    clean(seen)
    assert seen["value"].startswith("FAILED")


def test_report_renders_a_kept_result_and_refuses_anything_else(sandbox: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    assert run_cli("bench", "point-select", "--duration", "1", "--json", str(out), "--no-password-prompt",
                   env=env_for(sandbox)).returncode == 0
    page = tmp_path / "later.html"
    r = run_cli("report", str(out), "--html", str(page))
    assert r.returncode == 0 and r.stdout == f"report written to {page}\n"
    assert "Plotly.newPlot(\"throughput\"" in page.read_text()
    bad, foreign, alien = tmp_path / "bad.json", tmp_path / "foreign.json", tmp_path / "basic.json"
    bad.write_text("{not json")
    foreign.write_text('{"hello": 1}')
    # every command's result has a report now (issue 18); a command test-rig does not have is refused
    alien.write_text('{"command": "frobnicate", "ok": true}')
    for path, message in ((bad, f"error: {bad} is not JSON (Expecting property name"),
                          (foreign, f"error: {foreign} is not a test-rig result (no \"command\" field)"),
                          (alien, f"error: {alien} is a result of 'frobnicate', which is not a test-rig command")):
        r = run_cli("report", str(path), "--html", str(tmp_path / "x.html"))
        assert r.returncode == 2 and r.stderr.startswith(message), r.stderr
