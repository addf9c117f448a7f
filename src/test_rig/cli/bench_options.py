"""What the bench commands share: the load's options, read into the feature's LoadSettings, the live console
lines of a run, and their ending (the result's console lines, then `env.conclude`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from test_rig.cli.common import build_environment, nemesis_options, nemesis_spec, opt, say, stack
from test_rig.environment import run_feature

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadEvents, LoadSettings
    from test_rig.nemesis import Nemesis
    from test_rig.report.files import Suite
    from test_rig.results import RunResult

_SPREAD = "Worker processes the {} are split over; with --ray, Ray actors."
_RAY = "Run the workers as Ray actors on the Ray cluster at ADDRESS (needs test-rig[ray])."


def load_options(*, connections: str | None = None, duration: str = "Seconds.", warmup: bool = True,
                 processes: str = _SPREAD.format("connections"), ray: str = _RAY,
                 first: Iterable[Any] = (), middle: Iterable[Any] = ()) -> Callable[[Any], Any]:
    """The options of a command that runs a free-running load (each help text as the command words it; the
    command's `first` before --connections, its `middle` after --duration), ahead of the command's own."""
    return stack(nemesis_options, *first,
                 opt("--connections", click.IntRange(1, 100_000), 8, connections),
                 opt("--duration", click.FloatRange(0.1, None), 10.0, duration), *middle,
                 *([opt("--warmup", click.FloatRange(0, None), 0.0, "Seconds.")] if warmup else []),
                 opt("--seed", int, 0), opt("--processes", click.IntRange(1, 256), 1, processes),
                 opt("--ray ray_address", metavar="ADDRESS|auto", help=ray))


def start(ctx: click.Context, params: dict[str, Any]) -> tuple[Environment, LoadSettings, Any]:
    """The load's settings (checked: UsageError before anything runs), the nemesis asked for (None without
    --nemesis) and the run's Environment, taking their options out of `params`."""
    from test_rig.load.bench import LoadSettings

    load = LoadSettings(connections=params.pop("connections"), duration=params.pop("duration"),
                        warmup=params.pop("warmup", 0.0), seed=params.pop("seed"), processes=params.pop("processes"),
                        ray=params.pop("ray_address"))
    load.check()
    spec = nemesis_spec(ctx, params, load.seed)
    return build_environment(ctx, params), load, spec


def live(env: Environment, load: LoadSettings, unit: str, per_second: str, failed: str, **more: Any) -> LoadEvents:
    """The lines a run prints as it goes: the nemesis, the load's start (`unit`: what a connection is called),
    each second's `per_second` and `failed` counts; `more` for a workload's own events."""
    from test_rig.load.bench import LoadEvents

    def show_nemesis(nemesis: Nemesis) -> None:
        from test_rig.nemesis import announce

        announce(nemesis, lambda line: env.console.print(line, markup=False))

    return LoadEvents(
        on_nemesis=show_nemesis,
        on_load_start=lambda n: env.console.print(f"load started: {n} of {load.connections} {unit}"),
        on_second=lambda t, ops, errors: env.console.print(f"  {t:>4} s: {ops} {per_second}, {errors} {failed}"),
        **more)


def finish(env: Environment, feature: Callable[[], Coroutine[Any, Any, RunResult]],
           lines: Callable[[dict[str, Any]], list[str]], suites: Callable[[dict[str, Any]], list[Suite]]) -> NoReturn:
    """Run `feature`, print its result's `lines`, and end with `env.conclude` (reports, verdict, exit status)."""
    data = run_feature(feature).to_dict()
    for line in lines(data):
        say(env, line)
    env.conclude(data, suites(data))
