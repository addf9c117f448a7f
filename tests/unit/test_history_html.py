"""history/html.py on data: the HTML section of a checked history says what the console says (history.report's
Summary): the verdict, the transactions, each anomaly kind with what it means for the verdict, the models ruled
out, and why the verdict is undecided."""

from __future__ import annotations

from typing import Any

from test_rig.history import html
from test_rig.history.report import console_lines


def _plain(lines: list[Any]) -> list[str]:
    return [getattr(line, "plain", line) for line in lines]


def test_an_undecided_verdict_shows_its_reasons_and_what_each_kind_means() -> None:
    data = {"valid": "unknown", "consistency_model": "serializable", "stats": {"ok": 4, "info": 1},
            "anomalies": {"G-single": [{"explanation": "T1 < T2 < T1", "cycle": ["T1", "T2"], "edges": ["rw", "wr"]}],
                          "cycle-search-timeout": [{"explanation": "gave up after 10 s"}]},
            "not": [], "also_not": [], "violations": [], "unknown": ["the cycle search timed out"]}
    assert _plain(console_lines(data)) == [
        "unknown under serializable; transactions: 4 ok, 1 info",
        "G-single: 1 found (allowed by the model)", "  T1 < T2 < T1",
        "cycle-search-timeout: 1 found (so the verdict is undecided)", "  gave up after 10 s",
        "undecided: the cycle search timed out"]
    page = html.section(data)
    assert page.startswith("<h2>History: unknown under serializable</h2>\n<p>transactions: 4 ok, 1 info</p>\n")
    assert "<h3 class='anomaly'>G-single: 1 found (allowed by the model)</h3>" in page
    assert "<h3 class='anomaly'>cycle-search-timeout: 1 found (so the verdict is undecided)</h3>" in page
    assert page.count("<svg class=\"cycle\"") == 1  # the case with a cycle is drawn, the other is text
    assert page.endswith("<p class='undecided'>undecided: the cycle search timed out</p>")


def test_an_invalid_verdict_names_the_models_ruled_out() -> None:
    data = {"valid": False, "consistency_model": "repeatable-read", "stats": {"ok": 2},
            "anomalies": {"G2-item": [{"explanation": "<a cycle>"}]}, "not": ["repeatable-read"],
            "also_not": ["serializable"], "violations": ["G2-item"], "unknown": []}
    assert _plain(console_lines(data, limit=0)) == ["invalid under repeatable-read; transactions: 2 ok",
                                                    "G2-item: 1 found",
                                                    "not repeatable-read (nor serializable)"]
    page = html.section(data)
    assert "<p>transactions: 2 ok; not repeatable-read (nor serializable)</p>" in page
    assert "<h3 class='anomaly'>G2-item: 1 found</h3>" in page and "<pre>&lt;a cycle&gt;</pre>" in page
    assert "undecided" not in page
