"""`test-rig bench tpcc-prepare | tpcc | tpcc-check | tpcc-cleanup`: the TPC-C-style workload (load/tpcc.py), on
bench's free-running path. Commands of their own, not `bench prepare --workload tpcc`: sysbench's options mean
nothing to TPC-C's tables, nor TPC-C's (--warehouses, --scale-down) to sysbench's."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from test_rig.cli.bench_options import load_options, start
from test_rig.cli.common import build_environment, command, common_options, finish, opt, say, stack
from test_rig.load import tpcc
from test_rig.load.bench import cleanup_lines, live_events, step_suites

_size_options = stack(
    opt("--warehouses", int, 1, "Warehouses (TPC-C's scale: 10 districts, 3,000 customers each, per warehouse)."),
    opt("--scale-down", int, 1, "NOT SPEC-SIZED above 1: divide the items (100,000) and the customers and orders "
        "per district (3,000) by F, for quick tests; give the same F to every tpcc command.", metavar="F"))


def _options(params: dict[str, Any], mix: str | None = None) -> tpcc.TpccOptions:
    opts = tpcc.TpccOptions(warehouses=params.pop("warehouses"), scale_down=params.pop("scale_down"),
                            mix=tpcc.parse_mix(mix) if mix is not None else tpcc.DEFAULT_MIX)
    tpcc.check_options(opts)
    return opts


@command("tpcc-prepare")
@common_options
@_size_options
@opt("--seed", int, 0)
def prepare_cmd(ctx: click.Context, /, seed: int, **params: Any) -> None:
    """Create and load the nine TPC-C tables (refused when one already exists: run tpcc-cleanup first)."""
    opts = _options(params)
    env = build_environment(ctx, params)
    say(env, tpcc.prepare_opening(opts, env.target()))
    finish(env, lambda: tpcc.run_prepare(env, opts, seed=seed, on_table=lambda t, _n: say(env, f"  loading {t}")),
           tpcc.prepare_lines, step_suites)


@command("tpcc-cleanup")
@common_options
def cleanup_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Drop the nine TPC-C tables."""
    env = build_environment(ctx, params)
    finish(env, lambda: tpcc.run_cleanup(env), cleanup_lines, step_suites)


@command("tpcc-check")
@common_options
def check_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Judge the TPC-C consistency conditions (clause 3.3.2, 1 to 12) on the tables as they are: exit 0 when
    all hold, 1 naming the broken ones with the rows that show it."""
    env = build_environment(ctx, params)
    finish(env, lambda: tpcc.run_check(env), tpcc.console_lines, tpcc.suites)


_MIX = opt("--mix", None, ",".join(map(str, tpcc.DEFAULT_MIX)), "Weights of new-order, payment, order-status, "
           "delivery, stock-level (TPC-C's minimum mix by default), or name=weight pairs with the others 0.",
           metavar="W,W,W,W,W|name=W,...")


@command("tpcc")
@load_options(connections="Terminals: connections, each running one transaction after another (no keying or think "
                          "time).", first=[_size_options], middle=[_MIX])
def run_cmd(ctx: click.Context, /, mix: str, **params: Any) -> None:
    """Run the TPC-C-style mix for a duration, then check the consistency conditions: tpmC, latency per
    transaction type, errors by code, and a verdict on the data."""
    opts = _options(params, mix)
    env, load, spec = start(ctx, params)
    say(env, tpcc.opening(opts, load, env.target().address))
    events = live_events(partial(say, env), load, "terminals", "transactions", "failed",
                  on_check=lambda: say(env, "checking the consistency conditions"))
    finish(env, lambda: tpcc.run(env, opts, load, nemesis=spec, events=events), tpcc.console_lines, tpcc.suites)


#: Every command this module adds to the `bench` group.
TPCC_COMMANDS: list[click.Command] = [prepare_cmd, run_cmd, check_cmd, cleanup_cmd]
