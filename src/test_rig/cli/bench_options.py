"""What the bench commands share: the load's option block (connections, duration, warm-up, seed, processes, Ray,
the nemesis, --html), reading it into the feature's LoadSettings, the live console lines of a run, and the
ending every bench command has (its result's console lines, then `env.conclude`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from test_rig.cli.common import (
    build_environment,
    common_options,
    guarded,
    html_option,
    nemesis_options,
    nemesis_spec,
    run_feature,
    show_nemesis,
)

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadEvents, LoadSettings
    from test_rig.report.files import Suite
    from test_rig.results import RunResult

_SPREAD = "Worker processes the {} are split over; with --ray, Ray actors."
_RAY = "Run the workers as Ray actors on the Ray cluster at ADDRESS (needs test-rig[ray])."


def load_options(*, connections: str | None = None, duration: str = "Seconds.", warmup: bool = True,
                 processes: str = _SPREAD.format("connections"), ray: str = _RAY,
                 first: Iterable[Any] = (), middle: Iterable[Any] = ()) -> Callable[[Any], Any]:
    """The options of a command that runs a free-running load (each help text as the command words it; the
    command's `first` before --connections, its `middle` after --duration), ahead of the command's own."""
    return stack(
        common_options, html_option, nemesis_options, *first,
        click.option("--connections", type=click.IntRange(1, 100_000), default=8, show_default=True,
                     help=connections),
        click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True, help=duration),
        *middle,
        *([click.option("--warmup", type=click.FloatRange(0, None), default=0.0, show_default=True,
                        help="Seconds.")] if warmup else []),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True, help=processes),
        click.option("--ray", "ray_address", default=None, metavar="ADDRESS|auto", help=ray))


def stack(*options: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator of `options` (click options or such decorators), listed in --help in the order given."""
    def apply(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


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

    return LoadEvents(
        on_nemesis=lambda nemesis: show_nemesis(env, nemesis),
        on_load_start=lambda n: env.console.print(f"load started: {n} of {load.connections} {unit}"),
        on_second=lambda t, ops, errors: env.console.print(f"  {t:>4} s: {ops} {per_second}, {errors} {failed}"),
        **more)


def say(env: Environment, line: str) -> None:
    """One line as written: no markup, no highlighting (a server's message may hold brackets)."""
    env.console.print(line, markup=False, highlight=False)


def finish(env: Environment, feature: Callable[[], Coroutine[Any, Any, RunResult]],
           lines: Callable[[dict[str, Any]], list[str]], suites: Callable[[dict[str, Any]], list[Suite]]) -> NoReturn:
    """Run `feature`, print its result's `lines`, and end with `env.conclude` (the reports, the verdict, the
    exit status)."""
    data = run_feature(feature).to_dict()
    for line in lines(data):
        say(env, line)
    env.conclude(data, suites(data))


def bench_command(name: str) -> Callable[[Callable[..., None]], click.Command]:
    """The command `name` of the function it decorates, called with the context and every ending guarded (the
    options the function was decorated with stay on it)."""
    return lambda fn: click.command(name)(click.pass_context(guarded(fn)))
