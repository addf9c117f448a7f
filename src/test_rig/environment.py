"""The composition root: one Environment per command owns config, console, reports and resilience.

It also owns how the program stops on a signal. `ProgramStop` is installed at the program's first
instruction (before any heavy import, which is why this module imports only the standard library and
`errors` at its top): from then on SIGINT and SIGTERM end the program with one line, exit 130 or 143 and
the reports that were asked for, at any moment. `run_async` runs a command's coroutine and turns either
signal into the same orderly stop: the coroutine is cancelled so its cleanup runs.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from test_rig.errors import Interrupted, Terminated, UsageError

if TYPE_CHECKING:
    import asyncio

    from rich.console import Console
    from rich.text import Text

    from test_rig.config import AppConfig, LoadedConfig
    from test_rig.db import ConnectionPool, Target
    from test_rig.report.files import Redactor, Suite
    from test_rig.resilience import CircuitBreaker, ResilientConnectionManager, RetryEvent
    from test_rig.results import RunResult

T = TypeVar("T")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _redactor() -> Redactor:
    from test_rig.report.files import Redactor

    return Redactor()


@dataclass
class Environment:
    """One run: its configuration, console, reports, resilience and secrets. Nothing of a run is a module global,
    so two runs in one process (the pytest plugin's, a test's) share none of it; what is the process's (its
    signals, `PROGRAM_STOP`; its console streams and log handlers) is handed to the run that owns it."""

    loaded: LoadedConfig
    command: str = "test-rig"
    console: Console = field(default_factory=_console)
    verbose: bool = False
    json_path: str | None = None
    junit_path: str | None = None
    html_path: str | None = None
    retry_events: list[RetryEvent] = field(default_factory=list)
    quiet_retries: bool = False
    report_written: bool = False
    #: the verdict's line has been printed (conclude): an interrupt's ending does not print another
    verdict_printed: bool = False
    #: the run's secrets (its configuration's passwords), scrubbed from every report it writes; `open` hands it to
    #: the program's console and logging too
    redactor: Redactor = field(default_factory=_redactor, repr=False)
    #: when the run began (time.monotonic), for the time a JUnit case says the run took
    started: float = field(default_factory=time.monotonic)
    #: what the run made on the server and could not drop (`database.table`, a schema), noted by the feature as
    #: it happens: every report of the run says it (`left_on_server`), also one written for an error or an
    #: interrupt that ended the run before it produced a result
    left_on_server: list[str] = field(default_factory=list)
    #: the last result handed to write_reports, so an interrupt after it can say so without losing it
    _last_report: tuple[dict[str, Any], list[Suite] | None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        loaded: LoadedConfig | None = self.loaded
        if loaded is not None:  # None: without_config, which knows no password
            cfg = loaded.config
            self.redactor.add(cfg.database.password_value())
            for t in cfg.connections:
                if t.password is not None:
                    self.redactor.add(t.password.get_secret_value())

    @classmethod
    def open(cls, loaded: LoadedConfig, command: str, *, verbose: bool = False, log_file: bool = False,
             json_path: str | None = None, junit_path: str | None = None,
             html_path: str | None = None) -> Environment:
        """The program's run for the configuration `loaded`: it owns the console (which scrubs its passwords from
        here on) and the logging (set up with debug when `verbose` or test.verbose; `log_file` logs to test-rig.log
        when no logging.file is set, its passwords scrubbed), and an interrupt from here on writes its reports."""
        from test_rig.report.files import check_writable, redact_console, setup_logging

        cfg = loaded.config
        verbose = verbose or cfg.test.verbose
        log_path = cfg.logging.file or ("test-rig.log" if log_file else None)
        if log_path:  # like a report path, tried before anything runs (was an internal error from the FileHandler)
            source = loaded.sources().get("logging.file", "option --log-file")
            check_writable(log_path, source.removeprefix("option ") if source.startswith("option ") else "logging.file")
        env = cls(loaded=loaded, command=command, verbose=verbose, json_path=json_path, junit_path=junit_path,
                  html_path=html_path)
        redact_console(env.redactor)
        setup_logging("debug" if verbose else cfg.logging.level, cfg.logging.format, console=cfg.logging.console,
                      file=log_path, redactor=env.redactor)
        PROGRAM_STOP.environment = env
        return env

    @classmethod
    def from_options(cls, command: str, params: Mapping[str, Any], typed: Mapping[str, Any], *,
                     ask_password: Callable[[str], str] | None = None) -> Environment:
        """The run of a command's options `params` (`typed`: those the user gave, which alone override the
        environment and a config file): the report paths tried first, the configuration loaded, the password
        asked for with `ask_password(prompt)` when none is configured (unless --no-password-prompt), then `open`."""
        from test_rig.config import load_for_options

        check_report_paths(params.get("json_path"), params.get("junit_path"), params.get("html_path"))
        loaded = load_for_options(params.get("config_file"), typed)
        db = loaded.config.database
        if ask_password is not None and db.password is None and not params.get("no_password_prompt"):
            loaded = load_for_options(params.get("config_file"), typed,
                                      password=ask_password(f"Password for {db.username}@{db.host}"))
        return cls.open(loaded, command, verbose=bool(params.get("verbose")), log_file=bool(params.get("log_file")),
                        json_path=params.get("json_path"), junit_path=params.get("junit_path"),
                        html_path=params.get("html_path"))

    def elapsed(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self.started

    @classmethod
    def without_config(cls, command: str, **settings: Any) -> Environment:
        """The Environment of a command that loads no configuration and connects to nothing (`check`): its reports
        need none, and the configuration system (pydantic-settings) would double its start-up."""
        return cls(loaded=cast("LoadedConfig", None), command=command, **settings)

    @property
    def config(self) -> AppConfig:
        return self.loaded.config

    def target(self) -> Target:
        from test_rig.db import Target

        return Target.from_config(self.config)

    def manager(self, pool: ConnectionPool | None = None, *, breaker: CircuitBreaker | None = None,
                overall_timeout: float | None = None) -> ResilientConnectionManager:
        """A resilience manager whose retries give up within `overall_timeout`
        (default: the configured database.timeout_secs) and are printed as they happen."""
        from test_rig.resilience import (
            ResilientConnectionManager,
            create_db_circuit_breaker_config,
            create_db_retry_config,
        )

        retry = create_db_retry_config().with_timeout(
            overall_timeout if overall_timeout is not None else self.config.database.timeout_secs)
        return ResilientConnectionManager(
            pool, create_db_circuit_breaker_config(), retry, breaker=breaker, on_retry=self._on_retry,
            quiet=self.quiet_retries)

    def _on_retry(self, event: RetryEvent) -> None:
        self.retry_events.append(event)

    def write_reports(self, result: dict[str, Any] | RunResult, suites: list[Suite] | None = None) -> None:
        """Write --json and --junit from one result. A run that did not finish gets a JUnit error
        case saying so, so an interrupted run never looks green."""
        from test_rig.report.files import Case, Suite, write_json, write_junit
        from test_rig.results import Outcome, as_dict, settle

        data = {"command": self.command, **as_dict(result)}
        left = [*(data.get("left_on_server") or []), *self.left_on_server]
        if left:
            data["left_on_server"] = list(dict.fromkeys(left))
        data = settle(data)
        # Kept before writing: a signal in the middle of a write is followed by write_failure, which writes it again.
        self._last_report = (data, suites)
        if self.json_path:
            write_json(self.json_path, data, redact=self.redactor)
        if self.html_path:
            from test_rig.report.html import write_html

            write_html(self.html_path, json.loads(json.dumps(data, default=str)), redact=self.redactor)
        if self.junit_path:
            # copies: the error case added below must not stay in the caller's suites
            suites = [Suite(s.name, list(s.cases)) for s in suites or [Suite(self.command)]]
            # The verdict decides; a run that did not pass gets a case saying so when no case already does:
            # a failure for a failed run, an error for an undecided or unfinished one.
            outcome, reason = data["outcome"], data["reason"]
            classname = f"test_rig.{self.command.replace(' ', '.')}"
            if outcome == Outcome.INTERRUPTED:
                suites[0].add(Case("run", classname, error=f"the run did not finish: {reason}"))
            elif outcome != Outcome.PASSED and not any(c.failure or c.error for s in suites for c in s.cases):
                if outcome == Outcome.FAILED:
                    suites[0].add(Case("run", classname, failure=reason))
                else:
                    suites[0].add(Case("run", classname, error=f"undecided: {reason}"))
            write_junit(self.junit_path, suites, redact=self.redactor)
        self.report_written = True

    def conclude(self, result: dict[str, Any] | RunResult, suites: list[Suite] | None = None, *,
                 ending: BaseException | None = None) -> NoReturn:
        """End a run that produced its result (a RunResult or its dict): write every report from it, print its
        verdict as the last line, and exit with the status that verdict maps to (results.Verdict.exit_status).
        `ending`: what stopped the run (an error, an interrupt), raised once the reports are written, instead, for
        the command's guard to end it as it ends every such run (one sentence, or the program's stop)."""
        from test_rig.results import Outcome, as_dict, judge

        self.write_reports(result, suites)
        if ending is not None:
            raise ending
        verdict = judge({"command": self.command, **as_dict(result)})
        styles: dict[str, str] = {Outcome.PASSED: "green", Outcome.FAILED: "red"}
        style = styles.get(verdict.outcome, "yellow")
        # The run is over and its reports say so: a signal from here on is not an interrupt of it (one during the
        # verdict's line made the exit 130 and rewrote the JSON as interrupted under a PASSED line).
        PROGRAM_STOP.finish()
        self.print_verdict(str(verdict.outcome), verdict.reason, style)
        raise SystemExit(verdict.exit_status)

    def print_reported_verdict(self) -> None:
        """For a run that ended without `conclude` (an interrupt, an error): the verdict its last report holds as
        stdout's last line, once. Stdout closed: nothing (stderr's line and the exit status still say it)."""
        if self.verdict_printed or self._last_report is None:
            return
        from test_rig.results import Outcome, judge

        try:
            verdict = judge(self._last_report[0])
            self.print_verdict(str(verdict.outcome), verdict.reason,
                               "red" if verdict.outcome == Outcome.FAILED else "yellow")
        except Exception:
            pass

    def say(self, *lines: str | Text | None) -> None:
        """Each line on the console as written: no markup, no highlighting (a server's message may hold brackets);
        nothing for None (a live event a feature shows no line for)."""
        for line in lines:
            if line is not None:
                self.console.print(line, markup=False, highlight=False)

    def print_verdict(self, outcome: str, reason: str, style: str = "yellow") -> None:
        """The run's last line on the console: its verdict's word and why (once)."""
        self.verdict_printed = True
        self.console.print(f"[{style}]{outcome.upper()}[/]: ", end="")
        self.console.print(reason, markup=False, highlight=False)

    def write_failure(self, error: str, *, interrupted: bool, exit_status: int | None = None) -> None:
        """The report of a run that ended before producing a result. An interrupted run's report is
        written again even when the command already wrote one: what it holds is kept, and it says
        `ok: false`, `complete: false`, the error and (when it records one) the real exit status."""
        if interrupted and self._last_report is not None:
            data, suites = self._last_report
            data = {**data, "ok": False, "complete": False, "error": data.get("error") or error}
            if "exit_status" in data and exit_status is not None:
                data["exit_status"] = exit_status
            self.write_reports(data, suites)
            return
        self.write_reports({"ok": False, "complete": False, "error": error})


def _stop_class(signum: int) -> type[Interrupted]:
    return Terminated if signum == signal.SIGTERM else Interrupted


@dataclass
class ProgramStop:
    """How the program ends when SIGINT or SIGTERM stops it. Process-wide, as signal dispositions are:
    `install` is the program's first instruction and `end` its last when a signal came.

    The first signal raises Interrupted (130) or Terminated (143) where the program is, or, inside
    `run_async`, cancels the coroutine so its cleanup runs. From the moment a stop is raised (and once
    the command has returned) further signals are only recorded: the partial report is written whole,
    never cut by a second Ctrl-C, and nothing can raise during the interpreter's shutdown."""

    installed: bool = False
    #: set once a stop has been raised or the program is ending: signals are then recorded, not raised
    deferring: bool = False
    #: the signal that interrupted the run, if one did (a signal recorded while deferring does not count)
    interrupted_by: int | None = None
    ended: bool = False
    #: the program is still loading (its modules, click's command classes): a signal is recorded and the
    #: program ends as soon as it can do so in order, at the start of Program.main, never inside an import
    loading: bool = False
    #: the run whose reports an interrupt writes (None before its options are parsed)
    environment: Environment | None = None
    #: the command line, for the minimal report of a program interrupted before its options were parsed
    argv: list[str] = field(default_factory=list)
    _previous: dict[int, Any] = field(default_factory=dict, repr=False)
    _unraisable_before: Any = field(default=None, repr=False)

    def install(self, argv: list[str] | None = None, *, loading: bool = False,
                replacing: Mapping[int, Any] | None = None, early: list[int] | None = None) -> bool:
        """Take over SIGINT and SIGTERM (not a SIGINT the shell set to be ignored, as for a background job);
        True if this call installed them. Only in the main thread; harmless to call again. `loading`: the
        program's modules are still being imported (see `loading`). `replacing`: the handlers a recorder that
        ran before this module could be imported replaced (given back by `uninstall`), and `early`, the signals
        it recorded, taken as if they came now."""
        if self.installed or threading.current_thread() is not threading.main_thread():
            return False
        self.reset(argv)
        self.loading = loading
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                before = signal.signal(sig, self._on_signal)
                self._previous[sig] = (replacing or {}).get(sig, before)
        self._unraisable_before = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        self.installed = True
        for signum in early or ():
            self._on_signal(signum, None)
        return True

    def begin(self, argv: list[str] | None) -> bool:
        """The program's main starts (Program.main): take over the signals if nobody did (True: this call did, and
        `uninstall` gives them back at the end), else start a new run, first ending in order a stop that came
        while the program loaded and that something swallowed, rather than forget it."""
        owner = self.install(argv)
        self.loading = False
        if not owner:
            if self.installed and self.interrupted_by is not None and not self.ended:
                self.end()
            self.reset(argv)
        return owner

    def uninstall(self) -> None:
        """Give the signals back (for a program run inside another one, such as a test)."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if sys.unraisablehook == self._unraisable and self._unraisable_before is not None:
            sys.unraisablehook = self._unraisable_before
        self.installed = False

    def reset(self, argv: list[str] | None = None) -> None:
        """A new run of the program in this process."""
        self.deferring = self.ended = False
        self.interrupted_by = None
        self.environment = None
        self.argv = list(sys.argv[1:] if argv is None else argv)

    def finish(self) -> None:
        """Nothing can be interrupted any more (the command has printed its last byte, or the program is
        ending after a signal): from now on SIGINT and SIGTERM are ignored, also during the interpreter's
        shutdown, which would otherwise give them back their default action (killed by the signal, no status)."""
        self.deferring = True
        if self.installed and threading.current_thread() is threading.main_thread():
            for sig in self._previous:
                signal.signal(sig, signal.SIG_IGN)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if not self.note(signum):
            return
        if frame is not None and str(frame.f_code.co_filename).startswith("<frozen importlib"):
            # In the import machinery's bookkeeping (a module lock's weakref callback) the interpreter prints an
            # exception as "Exception ignored ... Traceback" and drops it: the signal comes again in a moment,
            # once the import has moved on.
            self._deliver_again(signum)
            return
        self.raise_stop(signum)

    def _unraisable(self, unraisable: Any) -> None:
        """sys.unraisablehook: a stop raised where the interpreter can only print and drop an exception (a destructor,
        a weakref or GC callback, an extension's callback into Python, as pydantic-core's was while a command loaded
        pydantic in a run of the interrupt sweep) is not printed ("Exception ignored in ... Traceback") and not lost:
        the signal comes again in a moment, outside it, as in the import machinery (`_on_signal`). Anything else goes to
        the hook that was there before."""
        stop = unraisable.exc_value
        if isinstance(stop, Interrupted) and self.installed and not self.ended:
            self.deferring = False  # raise_stop deferred later signals: this one has not stopped anything yet
            self._deliver_again(signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
            return
        (self._unraisable_before or sys.__unraisablehook__)(unraisable)

    def _deliver_again(self, signum: int) -> None:
        def again() -> None:
            if self.installed and not self.deferring:
                os.kill(os.getpid(), signum)

        timer = threading.Timer(0.02, again)
        timer.daemon = True
        timer.start()

    def note(self, signum: int) -> bool:
        """Record a signal; True if it should stop the program now (it is not being deferred)."""
        if self.deferring:
            return False
        if self.interrupted_by is None:
            self.interrupted_by = signum
        return not self.loading

    def reason(self) -> str:
        """What a feature that caught its cancellation says of its partial result: "interrupted by SIGINT" or
        "interrupted by SIGTERM" (the program's first signal; SIGINT when none was recorded)."""
        return f"interrupted by {_stop_class(self.interrupted_by or signal.SIGINT).signal_name}"

    def raise_stop(self, signum: int | None = None) -> NoReturn:
        """Raise the stop for the program's first signal (else `signum`) and defer every later one: a SIGTERM
        that cut a Ctrl-C's cleanup short still ends the run as interrupted by SIGINT, as its report says."""
        if self.installed:
            self.deferring = True
        raise _stop_class(self.interrupted_by or signum or signal.SIGINT)() from None

    def end_command(self, stop: KeyboardInterrupt, environment: Environment | None) -> NoReturn:
        """`end`, for an interrupt a command did not answer with a result: the reports written are `environment`'s
        (None: the command had none yet). Later signals are deferred while the report is written, the run's own
        report is kept and marked incomplete, one line, 130 or 143."""
        if not self.installed:  # a command called on its own, not through the program
            self.reset()
        self.environment = environment
        self.end(stop)

    def end(self, stop: BaseException | None = None) -> NoReturn:
        """The program's ending after a signal: write the reports that were asked for (the run's own, kept
        and marked incomplete, or a minimal one when the options were never parsed), print one line and
        exit 130 (SIGINT) or 143 (SIGTERM). Idempotent."""
        self.finish()
        signum = self.interrupted_by  # the first signal decides, whatever a second one raised meanwhile
        if signum is None and isinstance(stop, Interrupted):
            signum = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
        stop_class = _stop_class(signum or signal.SIGINT)
        if self.ended:
            raise SystemExit(stop_class.exit_status)
        self.ended = True
        error = f"interrupted by {stop_class.signal_name}"
        line = error
        try:
            if self.environment is not None:
                self.environment.write_failure(error, interrupted=True, exit_status=stop_class.exit_status)
            else:
                _write_minimal_reports(self.argv, error)
        except Exception as e:  # the line is still printed and the status still given
            line += f"; the report could not be written: {e}"
        if self.environment is not None:
            self.environment.print_reported_verdict()  # stdout ends with the verdict, as every run's does
        if stop is not None:
            _release_abandoned(stop)
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: the exit status still says it
            pass
        raise SystemExit(stop_class.exit_status)


def _release_abandoned(stop: BaseException) -> None:
    """Free now what the stop's traceback holds, without a word for the coroutines the stop left unstarted.

    A stop raised where the program was (a second signal stops at once) can land between the making of a coroutine
    and its first await: asyncmy's socket open inside `asyncio.wait_for`, whose frame the traceback keeps. The
    interpreter would free it at exit and print "RuntimeWarning: coroutine ... was never awaited" after the
    program's last line. That coroutine was abandoned on purpose, so only that warning, and only here, is not shown;
    clearing the finished frames lets anything else they hold be freed (and report) before the last line."""
    import gc
    import traceback
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"coroutine '.*' was never awaited", category=RuntimeWarning)
        for error in _chain(stop):
            traceback.clear_frames(error.__traceback__)
        gc.collect()


#: The one ProgramStop of this process (signal handlers are per process).
PROGRAM_STOP = ProgramStop()


def interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The program's stop (a signal's KeyboardInterrupt) that `error` was raised from, if any: Python wraps what a
    class's `__set_name__` raises in a RuntimeError, so a signal that arrives while a module defines its classes
    (pydantic's, imported as a command starts) surfaces as that error, and must still end as the interrupt it is."""
    return next((e for e in _chain(error) if isinstance(e, KeyboardInterrupt)), None)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then each exception it was raised from or while handling (its cause, else its context), once each."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def end_with_error(error: Exception, environment: Environment | None, *, verbose: bool) -> NoReturn:
    """The ending of a command that raised instead of producing a result: its report (`ok: false` and the error)
    when it had written none, one sentence on stderr (the traceback before it with `verbose`), and the exit status:
    the RigError's own (2 for bad input), else 1 (an internal error: a bug to report). Called while handling it."""
    import traceback

    from test_rig.errors import RigError
    from test_rig.report.files import redactor

    redact = environment.redactor if environment is not None else redactor
    if verbose:
        traceback.print_exc()
    if isinstance(error, RigError):
        reported, line, status = error.message, f"error: {error.message}", error.exit_status
    else:
        reported = f"internal error: {type(error).__name__}: {error}"
        line, status = f"{reported} (run again with -v for the traceback and please report it)", 1
    if environment is not None and not environment.report_written:
        environment.write_failure(reported, interrupted=False)
    if environment is not None and status != 2:
        # A run that began and then failed: stdout ends with its verdict, as every run's does (bad input, exit 2,
        # prints nothing on stdout: nothing ran).
        environment.print_reported_verdict()
    print(redact(line), file=sys.stderr, flush=True)
    sys.exit(status)


def check_report_paths(json_path: str | None, junit_path: str | None, html_path: str | None) -> None:
    """Try each report path the user gave, before anything runs: UsageError naming the option (--json, --junit,
    --html) of one that cannot be written, that is empty, or that names the file another one names (the last
    report written replaced the others: `--json r.out --html r.out` kept only the HTML)."""
    from test_rig.report.files import check_report_path

    seen: dict[Path, str] = {}
    for path, option in ((json_path, "--json"), (junit_path, "--junit"), (html_path, "--html")):
        check_report_path(path, option)
        if path is None:
            continue
        same = seen.setdefault(Path(path).resolve(), option)
        if same != option:
            raise UsageError(f"{same} and {option} both name {path}: each report needs a file of its own.")


def install_signal_handlers() -> None:
    """The program's first instruction: from here on a signal ends it in order (see ProgramStop)."""
    PROGRAM_STOP.install()


def _option_value(argv: list[str], option: str) -> str | None:
    """The value of `option FILE` or `option=FILE` in a command line click has not parsed yet."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg[len(option) + 1:]
    return None


def _write_minimal_reports(argv: list[str], error: str) -> None:
    """--json, --junit and --html of a program interrupted before it had a run's environment (while Python loaded it,
    or in a command that has none, such as `check`):
    all that is known is the command as typed and that nothing ran. Written only when the command line
    asks for them, each through a temporary file renamed at the end, so no half-written report is left."""
    words: list[str] = []
    for arg in argv[:2]:
        if arg.startswith("-") or not arg.replace("-", "").isalnum():
            break
        words.append(arg)
    command = " ".join(words) or "test-rig"
    from test_rig.results import settle

    json_path, junit_path = _option_value(argv, "--json"), _option_value(argv, "--junit")
    html_path = _option_value(argv, "--html")
    data = settle({"command": command, "ok": False, "complete": False, "error": error, "started": False})
    if json_path:
        _write_atomically(json_path, json.dumps(data, indent=2) + "\n")
    if html_path:  # the shared frame only: its banner says the run did not finish
        from test_rig.report.html import render

        _write_atomically(html_path, render(data))
    if junit_path:
        from xml.sax.saxutils import quoteattr

        name = quoteattr(f"test_rig.{command.replace(' ', '.')}")
        _write_atomically(junit_path, (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<testsuites><testsuite name={quoteattr(command)} tests="1" errors="1" failures="0">'
            f'<testcase name="run" classname={name}><error message={quoteattr(error)} /></testcase>'
            "</testsuite></testsuites>\n"))


def _write_atomically(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)


def run_feature(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a feature's coroutine (run_async) and return its result, also the partial one (`complete: false`) a
    feature returns when a signal cancelled it and it cleaned up: the command renders it like any other and ends
    with `Environment.conclude`, whose exit the program's stop turns into 130 or 143, keeping that report
    (ProgramStop.end). An interrupt the feature did not answer with a result propagates as before."""
    kept: list[T] = []

    async def keep() -> T:
        kept.append(await coro_fn())
        return kept[0]

    try:
        return run_async(keep)
    except KeyboardInterrupt:
        if not kept:
            raise
        return kept[0]


def run_async(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop when it is installed (it is measurably faster here).

    Ctrl-C (SIGINT) and SIGTERM cancel the coroutine, so its `finally` blocks clean up (drop the
    run's schema, close connections), and then raise Interrupted (exit 130) or Terminated (exit 143).
    A second signal while cleaning up stops at once. A SIGINT that the shell set to be ignored (a
    background job) stays ignored. In the program, once a stop has been raised (a run_async that heals a
    fault after the interrupt), signals are only recorded: that work is part of the orderly ending.
    """
    import asyncio
    import inspect

    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency on Linux
        factory = None
    received: list[int] = []
    main_task: list[asyncio.Task[T]] = []
    stop = PROGRAM_STOP

    with asyncio.Runner(loop_factory=factory) as runner:
        loop = runner.get_loop()

        def on_signal(signum: int, frame: Any) -> None:
            if stop.installed and not stop.note(signum):
                return
            received.append(signum)
            if len(received) > 1 or not main_task:
                stop.raise_stop(signum)
            loop.call_soon_threadsafe(main_task[0].cancel)

        async def main() -> T:
            task = asyncio.current_task()
            assert task is not None
            main_task.append(task)
            return await coro_fn()

        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    previous[sig] = signal.signal(sig, on_signal)
        coro = main()
        try:
            result = runner.run(coro)
        except asyncio.CancelledError:
            if not received:
                raise
            stop.raise_stop(received[0])
        finally:
            # A signal before the task first ran it (raise_stop, from the handler, before main_task exists) leaves
            # the coroutine never started: closed here, it ends without "coroutine ... was never awaited" on
            # stderr after the interrupt's line (one run of the interrupt sweep in CI). Only then: a started one is
            # its task's, which the runner cancels and awaits on its way out (closed here, the task was destroyed
            # pending, "Task was destroyed but it is pending!" in the next CI run).
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if received:  # the coroutine swallowed the cancellation: the run was still interrupted
        stop.raise_stop(received[0])
    return result
