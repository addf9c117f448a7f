"""`test-rig bench tpcc-prepare | tpcc | tpcc-check | tpcc-cleanup`: the TPC-C-style workload (load/tpcc.py), on
bench's free-running path. Commands of their own, not `bench prepare --workload tpcc`: sysbench's options mean
nothing to TPC-C's tables, nor TPC-C's (--warehouses, --scale-down) to sysbench's."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from test_rig.cli.bench_options import load_options, start
from test_rig.cli.common import build_environment, command, common_options, finish, say
from test_rig.load import tpcc
from test_rig.load.bench import cleanup_lines, live_events, step_suites
from test_rig.options import field_options, opt, take

_size_options = field_options(tpcc.TpccOptions, "warehouses", "scale_down")


def _options(params: dict[str, Any]) -> tpcc.TpccOptions:
    if "mix" in params:  # tpcc's --mix, spelt as text
        params["mix"] = tpcc.parse_mix(params["mix"])
    opts = take(params, tpcc.TpccOptions)
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
def run_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Run the TPC-C-style mix for a duration, then check the consistency conditions: tpmC, latency per
    transaction type, errors by code, and a verdict on the data."""
    opts = _options(params)
    env, load, spec = start(ctx, params)
    say(env, tpcc.opening(opts, load, env.target().address))
    events = live_events(partial(say, env), load, "terminals", "transactions", "failed",
                  on_check=lambda: say(env, "checking the consistency conditions"))
    finish(env, lambda: tpcc.run(env, opts, load, nemesis=spec, events=events), tpcc.console_lines, tpcc.suites)


#: Every command this module adds to the `bench` group.
TPCC_COMMANDS: list[click.Command] = [prepare_cmd, run_cmd, check_cmd, cleanup_cmd]
