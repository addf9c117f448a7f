"""A bench report draws what its result holds: the load's plots only when it ran a load, the OLTP statements
table, TPC-C's checks; html.render is a function of the result dict."""

from __future__ import annotations

from test_rig.report.html import render
from test_rig.results import settle


def test_a_prepare_result_has_no_plots_but_its_fields() -> None:
    page = render(settle({"command": "bench prepare", "ok": True, "complete": True, "tables": 2, "table_size": 10}))
    assert 'id="status" data-verdict="passed"' in page
    assert "<td>table_size</td><td>10</td>" in page  # in the shared facts table
    assert "plotly" not in page.lower().split("<body", 1)[1]  # no plot of a load that never ran


def test_an_oltp_run_shows_its_statements_and_a_tpcc_run_its_checks() -> None:
    oltp = settle({"command": "bench oltp-read-write", "ok": True, "complete": True, "timeline": [],
                   "transactions": 10, "statements": {"point_select": {"count": 100, "errors": 0}}})
    assert "<table id='statements'>" in render(oltp) and "point_select" in render(oltp)
    tpcc = settle({"command": "bench tpcc", "ok": False, "complete": True, "timeline": [], "tpmC": 12.5,
                   "error": "3.3.2.2 does not hold",
                   "checks": {"summary": "11 of 12 conditions hold", "failed": ["3.3.2.2"]}})
    page = render(tpcc)
    assert 'data-verdict="failed"' in page and "11 of 12 conditions hold" in page and "tpmC" in page


def test_a_bench_page_names_each_error_code_with_the_servers_message() -> None:
    data = settle({"command": "bench point-select", "ok": False, "complete": True, "operations": 0, "errors": 3,
                   "error": "no operation completed", "timeline": [{"t": 1, "ops": 0, "errors": 3}],
                   "errors_by_code": {"1142": 3},
                   "error_messages": {"1142": "SELECT command denied to user 'ro'@'localhost' for table 'x'"}})
    assert ("errors by code 1142 ×3: SELECT command denied to user &#x27;ro&#x27;@&#x27;localhost&#x27; for "
            "table &#x27;x&#x27;,") in render(data)
