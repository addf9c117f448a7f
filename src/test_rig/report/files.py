"""Reports: JSON and JUnit XML files, logging set-up, and the secret redactor they all pass through.

Passwords are kept out by construction (they are never put into messages), and the redactor is
the second line of defence: every log record and every report file is scrubbed of the secrets
registered with it before it is written. Each run has its own (`Environment.redactor`, holding the
passwords of its configuration), so two runs in one process (the pytest plugin's) never share secrets;
the program's console and its log handlers, which are the process's, scrub the secrets of the run that
owns them (`redact_console`, `setup_logging`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_rig.errors import UsageError

MASK = "********"
#: Secrets shorter than this are not scrubbed from free text (every "ab" in a log would vanish).
MIN_SECRET_LEN = 4

#: What scrubs a text of secrets before it is written: a Redactor, or any function of text to text.
Redact = Callable[[str], str]


class Redactor:
    """One run's secrets, masked in every text it is called on."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET_LEN:
            self._secrets.add(secret)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets, for a worker process's own Redactor (workers.spawn)."""
        return tuple(sorted(self._secrets))

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def _unchanged(text: str) -> str:
    """No secrets known: a report of a result read back from its JSON (scrubbed when it was written)."""
    return text


class RedactingStream:
    """A text stream that scrubs secrets from everything written through it (the program's console). Its
    `redactor` is the run's that owns the console (`redact_console`); none until a run does."""

    def __init__(self, inner: Any, redactor: Redactor | None = None) -> None:
        self._inner = inner
        self.redactor = redactor or Redactor()

    def write(self, text: str) -> int:
        self._inner.write(self.redactor(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # isatty, flush, encoding, fileno, ... of the real stream
        return getattr(self._inner, name)


def redact_console(redactor: Redactor) -> None:
    """From now on the program's console (sys.stdout and sys.stderr, which the program wraps in RedactingStream)
    scrubs `redactor`'s secrets: the run that opened its Environment owns the console. Streams the program did
    not wrap (a test calling a feature) are left alone."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, RedactingStream):
            stream.redactor = redactor


def console_secrets() -> tuple[str, ...]:
    """The secrets the program's console scrubs now (the run's that owns it; none when it is not wrapped)."""
    stream = sys.stdout
    return stream.redactor.secrets if isinstance(stream, RedactingStream) else ()


def redact_process_console(secrets: Iterable[str]) -> None:
    """This process's console scrubs `secrets` from here on: a worker process's, whose prints and log lines (a user
    task's among them) go to the parent's terminal without passing through the parent's streams."""
    redacting = Redactor(secrets)
    sys.stdout, sys.stderr = RedactingStream(sys.stdout, redacting), RedactingStream(sys.stderr, redacting)


def redactor(text: str) -> str:
    """`text` scrubbed as the program's console scrubs it (the secrets of the run that owns it). Printing through
    the console already does this; kept for code that scrubs a line before it prints it."""
    stream = sys.stdout
    return stream.redactor(text) if isinstance(stream, RedactingStream) else text


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.redactor(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


class NotShownTwice(logging.Filter):
    """Console logs skip records that the command already showed the user in its own words."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "shown_to_user", False)


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
               "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return self.redactor(json.dumps(out, default=str))


def setup_logging(level: str, fmt: str = "text", *, console: bool = True, file: str | None = None,
                  redactor: Redactor | None = None) -> None:
    """Configure the root logger: console (stderr) and/or file, text or JSON, `redactor`'s secrets (those of the
    run whose logging this is) scrubbed."""
    secrets = redactor or Redactor()
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    numeric = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
               "warning": logging.WARNING, "error": logging.ERROR}[level]
    root.setLevel(numeric)
    formatter: logging.Formatter = (JsonFormatter(secrets) if fmt == "json" else
                                    logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.addFilter(NotShownTwice())
        handlers.append(stream)
    if file:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    for h in handlers:
        h.setFormatter(formatter)
        h.addFilter(RedactingFilter(secrets))
        root.addHandler(h)
    if not handlers:
        root.addHandler(logging.NullHandler())
    # asyncmy and asyncio chatter is only useful when debugging test-rig itself
    logging.getLogger("asyncio").setLevel(max(numeric, logging.WARNING))
    # asyncmy logs every server warning (e.g. DROP TABLE IF EXISTS notes) at WARNING level.
    logging.getLogger("asyncmy").setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.ERROR)


#: The file name a refusal of a directory suggests, by option (a name with the extension the file will have).
_EXAMPLE_NAMES = {"--json": "result.json", "--junit": "result.xml", "--html": "report.html",
                  "--log-file-path": "test-rig.log", "--history": "history.jsonl", "--log": "hunt.log"}


def check_writable(path: str | Path, option: str) -> None:
    """Refuse, before anything runs, a file that could not be written at the end: try it. The missing
    directories are made and the file created, then both removed again; an existing file is opened
    for appending (and left untouched). Raises UsageError with one sentence naming `option`.

    Trying is the only test that holds for root, for whom permission bits say nothing (`/proc`, a
    read-only mount)."""
    p = Path(path)
    if p.is_dir():
        name = _EXAMPLE_NAMES.get(option, "result")
        raise UsageError(f"{option} {path} is a directory; give a file name such as {p / name}.")
    missing: list[Path] = []
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        missing.append(ancestor)
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{option} {path} cannot be created because {ancestor} is a file, not a directory; "
                         "choose another path.")
    try:
        for directory in reversed(missing):
            directory.mkdir()
        if p.exists():
            with open(p, "a", encoding="utf-8"):
                pass
        else:
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            p.unlink()
    except OSError as e:
        raise UsageError(f"{option} {path} cannot be written ({e.strerror or e}); choose another path.") from None
    finally:
        for directory in missing:  # deepest first
            try:
                directory.rmdir()
            except OSError:
                break


def level_label(isolation: str, txn_mode: str | None) -> str:
    """How every report names an isolation level run in a transaction mode: "repeatable-read (optimistic)"."""
    return isolation + (f" ({txn_mode})" if txn_mode else "")


def check_report_path(path: str | None, option: str) -> None:
    """check_writable for a report path the user may have given (None: none asked for); an empty name is refused
    (`--json ''` was taken for no report and wrote nothing)."""
    if path is None:
        return
    if not path.strip():
        raise UsageError(f"{option} was given an empty file name; give one such as "
                         f"{_EXAMPLE_NAMES.get(option, 'result')}, or leave {option} out.")
    check_writable(path, option)


def write_json(path: str | Path, data: Any, *, redact: Redact = _unchanged) -> None:
    """`data` as a JSON file, scrubbed by `redact` (the run's redactor)."""
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(redact(text) + "\n", encoding="utf-8")


@dataclass
class Case:
    """One JUnit test case."""

    name: str
    classname: str
    #: how long the case took; None when the caller did not measure it (the whole run's time is used)
    seconds: float | None = None
    failure: str | None = None
    error: str | None = None
    skipped: str | None = None
    output: str | None = None


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)

    def add(self, case: Case) -> None:
        self.cases.append(case)


def process_seconds() -> float:
    """Wall-clock seconds since this process started: the duration of a command's run so far. From
    /proc on Linux (process start in clock ticks since boot against the uptime); elsewhere since this
    module was imported, which the command line does first."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


def write_junit(path: str | Path, suites: Iterable[Suite], *, run_seconds: float | None = None,
                redact: Redact = _unchanged) -> None:
    """Write JUnit XML, scrubbed by `redact` (the run's redactor). A case whose duration was not measured gets the
    run's: `run_seconds`, else the time since the process started (a case stands for the whole run), never a
    made-up 0."""
    whole = process_seconds() if run_seconds is None else run_seconds
    root = ET.Element("testsuites")
    for suite in suites:
        seconds = [whole if c.seconds is None else c.seconds for c in suite.cases]
        # Cases that were each timed add up; one that stands for the whole run makes the suite that long.
        timed = bool(suite.cases) and all(c.seconds is not None for c in suite.cases)
        el = ET.SubElement(root, "testsuite", name=suite.name, tests=str(len(suite.cases)),
                           failures=str(sum(c.failure is not None for c in suite.cases)),
                           errors=str(sum(c.error is not None for c in suite.cases)),
                           skipped=str(sum(c.skipped is not None for c in suite.cases)),
                           time=f"{sum(seconds) if timed else whole:.3f}")
        for case, case_seconds in zip(suite.cases, seconds, strict=True):
            tc = ET.SubElement(el, "testcase", name=case.name, classname=case.classname,
                               time=f"{case_seconds:.3f}")
            if case.failure is not None:
                ET.SubElement(tc, "failure", message=case.failure.splitlines()[0] if case.failure else "")
                tc[-1].text = case.failure
            if case.error is not None:
                ET.SubElement(tc, "error", message=case.error.splitlines()[0] if case.error else "")
                tc[-1].text = case.error
            if case.skipped is not None:
                ET.SubElement(tc, "skipped", message=case.skipped)
            if case.output:
                ET.SubElement(tc, "system-out").text = case.output
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=True)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(redact(text) + "\n", encoding="utf-8")
