"""What the bench commands share: the load's options, read into the feature's LoadSettings, and the nemesis
they ask for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from test_rig.cli.common import build_environment, nemesis_options, nemesis_spec
from test_rig.options import opt, stack, take

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadSettings
    from test_rig.nemesis import NemesisSpec

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


def start(ctx: click.Context, params: dict[str, Any]) -> tuple[Environment, LoadSettings, NemesisSpec | None]:
    """The load's settings (checked: UsageError before anything runs), the nemesis asked for (None without
    --nemesis) and the run's Environment, taking their options out of `params`."""
    from test_rig.load.bench import LoadSettings

    load = take(params, LoadSettings, ray="ray_address")
    load.check()
    spec = nemesis_spec(ctx, params, load.seed)
    return build_environment(ctx, params), load, spec
