"""`test-rig check` as a Jepsen user runs it: Jepsen's history.edn as it is (one map per line, or one vector of
maps), Elle's JSON, the same verdict as the JSONL copy; the exit rule shared with `elle`; every malformed or
inconsistent history and every unknown name refused with one sentence and exit 2. No server is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli

# A G2-item in Jepsen's own notation: both transactions read a key nobody has appended to (nil) and append to
# the other's key. Written with keywords, commas and optional fields as Jepsen writes them.
EDN_G2 = """{:type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :process 0, :time 10, :index 0}
{:type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]], :process 1, :time 11, :index 1}
{:type :ok, :f :txn, :value [[:append :x 1] [:r :y nil]], :process 0, :time 20, :index 2}
{:type :ok, :f :txn, :value [[:append :y 1] [:r :x nil]], :process 1, :time 21, :index 3}
{:type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]], :process 0, :time 30, :index 4}
{:type :ok, :f :txn, :value [[:r :x [1]] [:r :y [1]]], :process 0, :time 31, :index 5}
"""


def edn_to_ops(text: str) -> list[dict[str, Any]]:
    from test_rig.history.edn import iter_forms

    return [form for _, form in iter_forms(text)]


def check(tmp_path: Path, name: str, content: str, *args: str) -> tuple[int, str, dict[str, Any] | None]:
    path = tmp_path / name
    path.write_text(content)
    out = tmp_path / f"{name}.result.json"
    r = run_cli("check", str(path), "--json", str(out), *args)
    data = json.loads(out.read_text()) if out.exists() else None
    return r.returncode, r.stdout + r.stderr, data


def test_a_jepsen_edn_history_gets_the_verdict_of_its_jsonl_copy(tmp_path: Path) -> None:
    status, output, edn = check(tmp_path, "history.edn", EDN_G2)
    assert status == 1, output
    assert edn is not None and edn["valid"] is False and edn["violations"] == ["G2-item"]
    assert edn["format"] == "edn" and edn["workload"] == "list-append"
    jsonl = "".join(json.dumps(op) + "\n" for op in edn_to_ops(EDN_G2))
    status2, _, copy = check(tmp_path, "history.jsonl", jsonl)
    assert copy is not None
    assert (status2, copy["valid"], copy["anomaly_types"], copy["not"]) == (status, edn["valid"],
                                                                            edn["anomaly_types"], edn["not"])
    # one vector of maps, as some Jepsen versions write it, and Elle's JSON array: the same again
    status3, _, vector = check(tmp_path, "vector.edn", "[" + EDN_G2 + "]")
    status4, _, array = check(tmp_path, "elle.json", json.dumps(edn_to_ops(EDN_G2)))
    assert vector is not None and array is not None
    assert (status3, vector["anomaly_types"]) == (status4, array["anomaly_types"]) == (1, edn["anomaly_types"])


def test_the_same_history_without_the_nil_reads_is_valid(tmp_path: Path) -> None:
    """The evidence of the G2-item is the two empty reads: as reads not done, nothing is left to find."""
    text = EDN_G2.replace(" [:r :y nil]", "").replace(" [:r :x nil]]", "]")
    status, output, data = check(tmp_path, "history.edn", text)
    assert data is not None and data["valid"] is True and data["anomaly_types"] == [], output
    assert status == 0


def test_a_history_with_nothing_observed_is_undecided_and_exits_1(tmp_path: Path) -> None:
    only_infos = ('{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["append", 1, 1]]}\n'
                  '{"index": 1, "process": 0, "type": "info", "f": "txn", "value": [["append", 1, 1]]}\n')
    status, output, data = check(tmp_path, "infos.jsonl", only_infos)
    assert (status, data and data["valid"]) == (1, "unknown"), output
    assert "undecided: no transaction depends on another" in output
    status, output, data = check(tmp_path, "empty.jsonl", "", "--workload", "list-append")
    assert (status, data and data["valid"]) == (1, "unknown"), output


@pytest.mark.parametrize(("content", "message"), [
    ('{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": []}\nnot json\n',
     "h.jsonl line 2 is not a history operation"),
    ('{"index": 0, "process": 0, "type": "ok", "f": "txn", "value": [["append", 1, 2]]}\n',
     "Operation 0 (line 1) (ok) of process 0 completes nothing that was invoked."),
    ('{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["append", 1, 2]]}\n'
     '{"index": 1, "process": 0, "type": "invoke", "f": "txn", "value": [["append", 1, 3]]}\n',
     "Process 0 invoked operation 1 (line 2) while operation 0 (line 1) was still open"),
    ('{"index": 0, "process": 0, "type": "done", "f": "txn", "value": []}\n',
     "h.jsonl line 1: type 'done' is not one of invoke, ok, fail, info."),
    ('{"index": 0, "type": "invoke", "f": "txn", "value": []}\n', "h.jsonl line 1 is not a history operation (no "
                                                                 "process)"),
])
def test_a_malformed_history_is_one_sentence_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(content)
    r = run_cli("check", str(path), "--workload", "list-append")
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_malformed_edn_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "h.edn"
    path.write_text(EDN_G2 + "{:type :ok, :f :txn, :process 0 :value [[:r :x [1}\n")
    r = run_cli("check", str(path), "--workload", "list-append")
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {path} line 7 is not valid EDN ('}}' does not close '[')."


def test_unknown_models_and_anomalies_are_refused_with_the_known_names(tmp_path: Path) -> None:
    path = tmp_path / "h.edn"
    path.write_text(EDN_G2)
    r = run_cli("check", str(path), "--consistency-model", "snapshot")
    assert r.returncode == 2
    assert r.stderr.startswith("error: --consistency-model snapshot is not a model Elle knows; use one of ")
    for name in ("read-uncommitted", "read-committed", "monotonic-atomic-view", "repeatable-read",
                 "snapshot-isolation", "serializable", "strict-serializable", "strong-session-snapshot-isolation",
                 "strong-session-serializable"):
        assert f" {name}," in r.stderr or f" {name}." in r.stderr
    r = run_cli("check", str(path), "--anomalies", "G3")
    assert r.returncode == 2 and r.stderr.startswith("error: --anomalies G3 is not an anomaly Elle knows")


def test_models_by_adya_name_and_anomalies_limit_the_verdict(tmp_path: Path) -> None:
    status, _, data = check(tmp_path, "h.edn", EDN_G2, "--consistency-model", "PL-SI")
    assert data is not None and (status, data["valid"], data["consistency_model"]) == (0, True, "snapshot-isolation")
    status, _, data = check(tmp_path, "h.edn", EDN_G2, "--anomalies", "G1")
    assert data is not None and (status, data["valid"], data["violations"]) == (0, True, [])
    status, _, data = check(tmp_path, "h.edn", EDN_G2, "--anomalies", "G2")
    assert data is not None and (status, data["valid"], data["violations"]) == (1, False, ["G2-item"])


def test_bad_paths_are_refused_before_any_work(tmp_path: Path) -> None:
    path = tmp_path / "h.edn"
    path.write_text(EDN_G2)
    r = run_cli("check", str(path), "--json", str(tmp_path))
    assert r.returncode == 2 and r.stderr.startswith(f"error: --json {tmp_path} is a directory")
    r = run_cli("check", str(tmp_path / "missing.edn"))
    assert r.returncode == 2 and r.stderr.strip() == f"error: History {tmp_path / 'missing.edn'} is not a " \
                                                     "readable file; check the path."
    r = run_cli("check", str(path), "--wfr-keys")
    assert r.returncode == 2 and "--wfr-keys applies to rw-register histories only" in r.stderr
