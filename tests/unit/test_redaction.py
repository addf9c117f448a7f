"""Secrets are the run's: each Environment scrubs its own configuration's passwords from its reports, two runs in
one process share none, and the program's console scrubs the secrets of the run that opened its Environment."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from test_rig.config import load_config
from test_rig.environment import Environment
from test_rig.report.files import MASK, RedactingStream, Redactor, redact_console, setup_logging


def _environment(password: str, tmp_path: Path, name: str) -> Environment:
    loaded = load_config(None, {"database.password": password}, environ={}, cwd=Path("/nonexistent"))
    return Environment(loaded=loaded, command="basic", json_path=str(tmp_path / f"{name}.json"),
                       junit_path=str(tmp_path / f"{name}.xml"), html_path=str(tmp_path / f"{name}.html"))


def test_each_run_scrubs_its_own_passwords_from_its_reports_and_only_its_own(tmp_path: Path) -> None:
    first = _environment("First-Secret-1111", tmp_path, "first")
    second = _environment("Second-Secret-2222", tmp_path, "second")
    said = "could not log in with First-Secret-1111 nor Second-Secret-2222"
    for env in (first, second):
        env.write_reports({"ok": False, "error": said})
    for suffix in ("json", "xml", "html"):
        first_text = (tmp_path / f"first.{suffix}").read_text()
        second_text = (tmp_path / f"second.{suffix}").read_text()
        assert "First-Secret-1111" not in first_text and f"with {MASK} nor Second-Secret-2222" in first_text
        assert "Second-Secret-2222" not in second_text and f"with First-Secret-1111 nor {MASK}" in second_text
    assert json.loads((tmp_path / "first.json").read_text())["error"] == f"could not log in with {MASK} nor " \
                                                                          "Second-Secret-2222"


def test_the_console_scrubs_the_secrets_of_the_run_that_owns_it(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", RedactingStream(out))
    monkeypatch.setattr(sys, "stderr", RedactingStream(err))
    print("before: Console-Secret-3333")  # no run owns the console yet: nothing is known to scrub
    redact_console(Redactor(["Console-Secret-3333"]))
    print("after: Console-Secret-3333")
    print("to stderr: Console-Secret-3333", file=sys.stderr)
    redact_console(Redactor(["Next-Run-4444"]))  # the next run owns it: the first run's secret is not its
    print("next: Next-Run-4444")
    assert out.getvalue().splitlines() == ["before: Console-Secret-3333", f"after: {MASK}", f"next: {MASK}"]
    assert err.getvalue() == f"to stderr: {MASK}\n"


def test_logging_scrubs_the_runs_secrets(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    root = logging.getLogger()
    kept = list(root.handlers), root.level
    try:
        setup_logging("info", "json", console=False, file=str(log), redactor=Redactor(["Log-Secret-5555"]))
        logging.getLogger("test_rig.test").info("connecting with %s", "Log-Secret-5555")
        for h in root.handlers:
            h.flush()
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
            h.close()
        for h in kept[0]:
            root.addHandler(h)
        root.setLevel(kept[1])
    assert json.loads(log.read_text())["message"] == f"connecting with {MASK}"


def test_a_run_without_configuration_knows_no_secret(tmp_path: Path) -> None:
    env = Environment.without_config("check", json_path=str(tmp_path / "c.json"))
    env.write_reports({"ok": True, "valid": True, "note": "abcd-not-a-secret"})
    assert json.loads((tmp_path / "c.json").read_text())["note"] == "abcd-not-a-secret"
