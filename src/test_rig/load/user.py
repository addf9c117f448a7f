"""Your own workload, written like a Locust user class: tasks with weights, `on_start`/`on_stop`, one connection per
virtual user; run on the bench load path (`test-rig bench user TARGET`), each task's latency and errors reported
under its name.

    from test_rig.load.user import User, task

    class Shop(User):
        async def on_start(self, conn):
            self.customer = self.rng.randint(1, 1000)

        @task(3)
        async def browse(self, conn):
            await conn.fetch("SELECT c FROM sbtest1 WHERE id=%s", (self.rng.randint(1, 10000),))

        @task
        async def buy(self, conn):
            await conn.execute("UPDATE sbtest1 SET k=k+1 WHERE id=%s", (self.customer,))

As in hypothesis' stateful rules, `@task` attaches a small frozen record to the function and the class is read
once (`tasks_of`); decorator order does not matter. A worker repeats: pick a task by weight (the worker's own
seeded generator), run it, record its latency under its name. A task that raises a database error fails that
operation with its code; one that raises anything else (an assertion of the workload) fails it under the
exception's class name, and fails the run (exit 1) naming the task and the error. Before the load, one user is
made, started and stopped on a connection of its own (`probe`): a class whose on_start or on_stop raises is
refused then (exit 2, naming the class and the error); one that fails to start only sometimes during the run
fails the run (exit 1).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from test_rig.db import Connection
from test_rig.errors import DatabaseError, PluginError, by_code_text, code_key
from test_rig.load.fast_conn import FastConnection
from test_rig.results import RunResult

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadEvents, LoadSettings

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class TaskInfo:
    """What `@task` records on a function."""

    weight: int
    name: str


@overload
def task(weight: F) -> F: ...
@overload
def task(weight: int = 1) -> Callable[[F], F]: ...


def task(weight: Any = 1) -> Any:
    """Mark a coroutine method `async def name(self, conn)` as a task: `@task` (weight 1) or `@task(3)`."""
    def mark(fn: Any, w: int) -> Any:
        if not inspect.iscoroutinefunction(fn):
            raise PluginError(f"@task {fn.__qualname__} is not an async def; write `async def {fn.__name__}"
                              "(self, conn)`.")
        if w < 1:
            raise PluginError(f"@task({w}) on {fn.__qualname__}: a weight is a whole number of 1 or more.")
        fn._rig_task = TaskInfo(w, fn.__name__)
        return fn

    if callable(weight):
        return mark(weight, 1)
    return lambda fn: mark(fn, int(weight))


class User:
    """A virtual user: one per connection. `self.rng` is the worker's own seeded `random.Random`, `self.index`
    its number, `self.conn` its connection (also passed to every task, which may be a new one after a
    reconnect). Override `on_start` / `on_stop` (both optional, async) and mark tasks with `@task`."""

    rng: Any
    index: int
    conn: Any

    async def on_start(self, conn: Any) -> None:
        """Before this user's first task."""

    async def on_stop(self, conn: Any) -> None:
        """After its last task (when the run ends normally)."""


def tasks_of(cls: type) -> list[TaskInfo]:
    """The tasks a User class declares, in definition order (subclasses inherit their parents' tasks)."""
    found: dict[str, TaskInfo] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            info = getattr(value, "_rig_task", None)
            if isinstance(info, TaskInfo):
                found[name] = info
    return list(found.values())


def load_user(target: str) -> type[User]:
    """The User class of TARGET: `path/file.py:Class`, `module:Class`, a file holding exactly one User class,
    or the name of an entry point in the group `test_rig.users`. PluginError (exit 2) names what is wrong."""
    from importlib import metadata
    from pathlib import Path

    from test_rig.flows.plugins import _import_file, _import_module, _looks_like_path

    path_part, _, class_name = target.rpartition(":") if ":" in target else (target, "", "")
    if Path(given := path_part if class_name else target).is_dir():
        raise PluginError(f"Workload file {given} is a directory; give a .py file, file.py:Class or module:Class.")
    if class_name:
        if _looks_like_path(path_part):
            if not Path(path_part).is_file():
                raise PluginError(f"Workload file {path_part} does not exist; check the path before the colon.")
            module = _import_file(Path(path_part), "Workload file")
        else:
            module = _import_module(path_part)
        obj = getattr(module, class_name, None)
        if obj is None:
            raise PluginError(f"Workload {path_part} has no class {class_name!r} (User classes there: "
                              f"{', '.join(c.__name__ for c in _users_in(module)) or 'none'}); check the name.")
        return _checked(obj, target)
    if Path(target).is_file():
        users = _users_in(_import_file(Path(target), "Workload file"))
        if len(users) != 1:
            names = ", ".join(c.__name__ for c in users) or "none"
            raise PluginError(f"{target} holds {len(users)} User classes ({names}); name one as {target}:Class.")
        return _checked(users[0], target)
    if _looks_like_path(target):
        raise PluginError(f"Workload file {target} does not exist; give a file, file.py:Class or module:Class.")
    eps = [ep for ep in metadata.entry_points(group="test_rig.users") if ep.name == target]
    if not eps:
        raise PluginError(f"{target!r} is not a file, file.py:Class, module:Class or an installed test_rig.users "
                          "entry point.")
    try:
        obj = eps[0].load()
    except Exception as e:
        raise PluginError(f"Entry point {target!r} failed to load: {type(e).__name__}: {e}.") from e
    return _checked(obj, target)


def _users_in(module: Any) -> list[type[User]]:
    return [obj for obj in vars(module).values() if inspect.isclass(obj) and issubclass(obj, User)
            and obj is not User and obj.__module__ == module.__name__ and not obj.__name__.startswith("_")]


def _checked(obj: Any, target: str) -> type[User]:
    if not (inspect.isclass(obj) and issubclass(obj, User)):
        raise PluginError(f"{target} is not a User class; derive it from test_rig.load.user.User.")
    if not tasks_of(obj):
        raise PluginError(f"{target} has no tasks; mark its coroutine methods with @task.")
    return obj


class TaskFailed(DatabaseError):
    """A task raised something other than a database error: counted as that operation's failure."""


@dataclass(frozen=True)
class UserSpec:
    """A user workload as picklable data (bench.operation builds its operation in every worker process)."""

    target: str
    name: str = "user"

    def operation(self) -> UserWorkload:
        return UserWorkload(load_user(self.target))


@dataclass
class _Figures:
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    histogram: Any = None
    #: the first error message of a non-database failure, for the verdict's sentence
    first_failure: str | None = None


class UserWorkload:
    """The operation a worker repeats: its User (made, and `on_start` run, at its first call), one task picked by
    weight. Per task: ok count, errors by code, HDR latency (named_stats, merged across processes)."""

    def __init__(self, cls: type[User]) -> None:
        from hdrh.histogram import HdrHistogram

        self.cls = cls
        infos = tasks_of(cls)
        self.names = [t.name for t in infos]
        # one slot per unit of weight: a pick is one rng.choice (Locust builds its task list the same way)
        self.deck = [i for i, t in enumerate(infos) for _ in range(t.weight)]
        self.figures = [_Figures(histogram=HdrHistogram(1, 3_600_000_000, 3)) for _ in infos]
        # Each task's latencies (µs) appended as they come and put in its histogram at the end (named_stats),
        # counted by value: hdrh's record_value is pure Python, a few µs an operation.
        self.latencies: list[list[int]] = [[] for _ in infos]
        self.stop_failures: Counter[str] = Counter()
        self.start_failures: Counter[str] = Counter()

    def _connection(self, conn: Any, worker: Any) -> Any:
        """What the worker's tasks get for `conn`: a FastConnection (load.fast_conn: the statements on the fast
        load path, for a task of one point select 2.2x -> 1.2x the built-in point select's client CPU per
        operation), made again for a new connection after a reconnect; anything but a db.Connection as it is."""
        held = worker.data.get("fast")
        if held is None or held[0] is not conn:
            held = worker.data["fast"] = (conn, FastConnection(conn) if isinstance(conn, Connection) else conn)
        return held[1]

    async def __call__(self, conn: Any, worker: Any) -> None:
        # What a worker needs for each operation, looked up once per connection (a dict lookup and one identity
        # test an operation): the connection it holds, its tasks' connection and its user's task methods.
        ready = worker.data.get("ready")
        if ready is None or ready[0] is not conn:
            ready = await self._ready(conn, worker)
        deck = self.deck
        index = deck[worker.rng.randrange(len(deck))] if len(deck) > 1 else 0
        t = time.perf_counter()
        try:
            await ready[2][index](ready[1])
        except DatabaseError as e:
            self.figures[index].errors[code_key(e)] += 1
            raise
        except Exception as e:
            figures = self.figures[index]
            name = type(e).__name__
            figures.errors[name] += 1
            if figures.first_failure is None:
                figures.first_failure = f"{name}: {e}"
            raise TaskFailed(f"task {self.names[index]} raised {name}: {e}", code=None) from e
        self.latencies[index].append(int((time.perf_counter() - t) * 1_000_000) or 1)

    async def _ready(self, conn: Any, worker: Any) -> tuple[Any, Any, list[Any]]:
        """(conn, its tasks' connection, the user's task methods) of a worker, its user started if it was not."""
        worker.data.pop("ready", None)
        user: User | None = worker.data.get("user")
        tasks_conn = self._connection(conn, worker)
        if user is None or not worker.data.get("started"):
            user = await self._start(tasks_conn, worker)
        user.conn = tasks_conn
        ready = worker.data["ready"] = (conn, tasks_conn, [getattr(user, name) for name in self.names])
        return ready

    async def worker_done(self, conn: Any, worker: Any) -> None:
        """The run's end: the worker's user's on_stop (a failure is recorded; it fails the run)."""
        user: User | None = worker.data.get("user")
        if user is None or not worker.data.get("started"):
            return
        tasks_conn = self._connection(conn, worker)
        try:
            await user.on_stop(tasks_conn)
        except Exception as e:
            self.stop_failures[f"{self.cls.__name__}.on_stop raised {type(e).__name__}: {e}"] += 1
        if isinstance(tasks_conn, FastConnection):
            tasks_conn.release()  # the connection is asyncmy's again for closing it

    async def _start(self, conn: Any, worker: Any) -> User:
        """The worker's user, made and started. A start that raised (the run's probe passed, so it fails only
        sometimes) is counted under start_failures, fails this operation, and is tried again at the next one,
        a tenth of a second later so a start that always fails does not spin; a database error (a lost
        connection) is the loop's to handle, and the start is tried again on the new connection."""
        if worker.data.get("start_failed"):
            await asyncio.sleep(0.1)
        try:
            user = worker.data.get("user") or self.cls()
            user.rng, user.index, user.conn = worker.rng, worker.index, conn
            worker.data["user"] = user
            await user.on_start(conn)
        except DatabaseError:
            raise
        except Exception as e:
            message = f"{self.cls.__name__}.on_start raised {type(e).__name__}: {e}"
            self.start_failures[message] += 1
            worker.data["start_failed"] = True
            raise TaskFailed(message, code=None) from e
        worker.data["started"] = True
        return user

    def named_stats(self) -> dict[str, Any]:
        tasks = {}
        for f, latencies in zip(self.figures, self.latencies, strict=True):
            for micros, count in Counter(latencies).items():
                f.histogram.record_value(min(micros, 3_600_000_000), count)
            f.ok += len(latencies)
            latencies.clear()
        for name, f in zip(self.names, self.figures, strict=True):
            entry: dict[str, Any] = {"ok": f.ok, "errors": dict(f.errors),
                                     "histogram": f.histogram.encode().decode("ascii")}
            if f.first_failure is not None:
                entry["failures"] = {f.first_failure: 1}  # merged by adding: one message per process at most
            tasks[name] = entry
        return {"tasks": tasks, "stop_failures": dict(self.stop_failures), "start_failures": dict(self.start_failures)}


def summarize(named: dict[str, Any] | None, seconds: float) -> dict[str, Any]:
    """Per task: count, errors, rate and latency percentiles (the user part of a run's result)."""
    from test_rig.load.oltp import _hist_ms

    out = {}
    for name, t in ((named or {}).get("tasks") or {}).items():
        errors = dict(t.get("errors") or {})
        out[name] = {"count": t["ok"], "errors": sum(errors.values()), "errors_by_code": errors,
                     "per_second": round(t["ok"] / seconds, 1) if seconds > 0 else 0.0, **_hist_ms(t["histogram"]),
                     "failures": sorted(t.get("failures") or {})}
    return out


def verdict_fields(tasks: dict[str, Any], operations: int, with_nemesis: bool,
                   stop_failures: dict[str, int] | None = None,
                   start_failures: dict[str, int] | None = None,
                   messages: dict[str, str] | None = None) -> dict[str, Any]:
    """`ok`/`error` of a user run: a task that raised something else than a database error fails it (its name
    and error named); database errors fail it too unless a nemesis caused them (each code said with the first of
    its `messages`); nothing done is undecided."""
    if start_failures:
        message, n = sorted(start_failures.items())[0]
        return {"ok": False, "error": f"{message} ({n} time{'s' if n != 1 else ''})"}
    if stop_failures:
        message, n = sorted(stop_failures.items())[0]
        return {"ok": False, "error": f"{message} ({n} of the users)"}
    broken = [(name, t) for name, t in tasks.items() if t["failures"]]
    if broken:
        name, t = broken[0]
        n = sum(v for code, v in t["errors_by_code"].items() if not code.isdecimal())
        return {"ok": False, "error": f"task {name} failed {n} time{'s' if n != 1 else ''}: {t['failures'][0]}"}
    failed = {name: t["errors"] for name, t in tasks.items() if t["errors"]}
    if failed and not with_nemesis:
        shown = ", ".join(f"{name} {n}" for name, n in failed.items())
        codes: Counter[str] = Counter()
        for t in tasks.values():
            codes.update(t["errors_by_code"])
        return {"ok": False, "error": f"tasks failed with database errors ({shown}): {by_code_text(codes, messages)}"}
    if operations == 0:
        return {"ok": None, "undecided": 1, "unknown": ["no task completed during the run: nothing was measured"]}
    return {"ok": True}


async def probe(target: Any, cls: type[User], manager: Any, seed: int = 0) -> None:
    """One user of `cls` made, started and stopped on a connection of its own before the load: a class whose
    construction, on_start or on_stop raises is refused (PluginError, exit 2) before anything is measured. (So
    on_start and on_stop run once more than the run's users: Locust has no such check.)"""
    import random

    from test_rig.db import connect

    opened = await manager.execute_with_resilience(f"connect to {target.address}", lambda: connect(target))
    conn = FastConnection(opened)  # what the run's users get
    try:
        try:
            user = cls()
        except Exception as e:
            raise PluginError(f"{cls.__name__}() raised {type(e).__name__}: {e}; a User class is made with no "
                              "arguments.") from e
        user.rng, user.index, user.conn = random.Random(seed - 1), -1, conn
        for step in ("on_start", "on_stop"):
            try:
                await getattr(user, step)(conn)
            except DatabaseError:
                raise
            except Exception as e:
                raise PluginError(f"{cls.__name__}.{step} raised {type(e).__name__}: {e}; fix the workload and run "
                                  "again.") from e
    finally:
        conn.release()
        await opened.close()


async def run(env: Environment, spec: UserSpec, load: LoadSettings, *, nemesis: Any = None,
              events: LoadEvents | None = None) -> RunResult:
    """`test-rig bench user`: a user workload as a bench run (bench.measure). The class is loaded first
    (PluginError, exit 2, before any connection) and probed (`probe`). Returns bench's figures, `tasks` (per task
    figures) and the verdict; interrupted, what ran until then with `complete` false."""
    return RunResult.from_dict(await _run(env, spec, load, nemesis, events))


async def _run(env: Environment, spec: UserSpec, load: LoadSettings, nemesis: Any,
               events: LoadEvents | None) -> dict[str, Any]:
    from test_rig.load.bench import LoadEvents, measure, resilience

    cls = load_user(spec.target)
    await probe(env.target(), cls, resilience(env)(None, env.config.database.timeout_secs), load.seed)
    data = await measure(env, spec, load, nemesis=nemesis, events=events or LoadEvents())
    data = dict(data)
    # the class as the user named it (a file's module has a generated name: test_rig_plugin_<stem>_<digest>)
    data["user_class"] = (f"{spec.target.rpartition(':')[0] or spec.target}:{cls.__qualname__}"
                          if cls.__module__.startswith("test_rig_plugin_") else f"{cls.__module__}.{cls.__qualname__}")
    if "operations" not in data:
        return data
    named = data.pop("named", None) or {}
    tasks = summarize(named, float(data["seconds"]))
    data["tasks"] = tasks
    stop_failures = dict(named.get("stop_failures") or {})
    start_failures = dict(named.get("start_failures") or {})
    if data.get("complete") is False or (data.get("ok") is False and not data.get("undecided")):
        return data
    for key in ("undecided", "error", "unknown"):
        data.pop(key, None)
    data.update(verdict_fields(tasks, data["operations"], nemesis is not None, stop_failures, start_failures,
                               data.get("error_messages")))
    return data


def console_lines(data: dict[str, Any]) -> list[str]:
    """Per task and in all: count, rate, errors, latency percentiles; each task's failures; the timeline (none
    for a run that stopped before its load)."""
    from test_rig.load.bench import latency_table, timeline_lines

    if "tasks" not in data:
        return []
    every = {"count": data["operations"], "per_second": data["qps"], "errors": data["errors"],
             **{k: data[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}}
    lines = latency_table("task", 24, [*data["tasks"].items(), ("all", every)])
    lines += [f"task {name} failed: {failure}" for name, t in data["tasks"].items() for failure in t["failures"]]
    return lines + timeline_lines(data, "tasks/s", nemesis=False)
