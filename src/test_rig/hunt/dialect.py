"""Where TiDB, MariaDB and MySQL differ, for the hunt, in one table: collations, clustered keys, the plan
changes the plans oracle can ask for (hints, optimizer switches), the session variables the generator may switch
between queries, and functions a server lacks. Nothing else in hunt/ tests the server kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: A plan variant: from (table aliases, {alias: [index names]}) to (statement prefix, optimizer hints,
#: index hint after the first table), or None when it does not apply to that query.
PlanVariant = Callable[[list[str], dict[str, list[str]]], "tuple[str, str, str] | None"]


def _hint(text: str) -> PlanVariant:
    return lambda aliases, indexes: ("", text, "")


def _join_hint(name: str, last_only: bool = False) -> PlanVariant:
    def variant(aliases: list[str], indexes: dict[str, list[str]]) -> tuple[str, str, str] | None:
        if len(aliases) < 2:
            return None
        return "", f"{name}({aliases[-1] if last_only else ', '.join(aliases)})", ""
    return variant


def _index_hint(tidb_name: str) -> PlanVariant:
    def variant(aliases: list[str], indexes: dict[str, list[str]]) -> tuple[str, str, str] | None:
        first = aliases[0] if aliases else ""
        names = indexes.get(first) or []
        if not names:
            return None
        if tidb_name == "USE_INDEX_MERGE":
            return "", f"USE_INDEX_MERGE({first}, {', '.join(names[:3])})", ""
        return "", f"{tidb_name}({first}, {names[0]})", ""
    return variant


def _ignore_index(aliases: list[str], indexes: dict[str, list[str]]) -> tuple[str, str, str] | None:
    names = indexes.get(aliases[0] if aliases else "") or []
    return ("", "", f"IGNORE INDEX ({', '.join(names)})") if names else None


def _force_index(aliases: list[str], indexes: dict[str, list[str]]) -> tuple[str, str, str] | None:
    names = indexes.get(aliases[0] if aliases else "") or []
    return ("", "", f"FORCE INDEX ({names[0]})") if names else None


def _mariadb_switch(flags: str) -> PlanVariant:
    return lambda aliases, indexes: (f"SET STATEMENT optimizer_switch='{flags}' FOR ", "", "")


def _mariadb_var(name: str, value: str) -> PlanVariant:
    return lambda aliases, indexes: (f"SET STATEMENT {name}={value} FOR ", "", "")


@dataclass(frozen=True)
class Dialect:
    kind: str  # "tidb" | "mariadb" | "mysql"
    #: collations string columns are created with (ASCII data only, so case is the only folding that matters)
    collations: tuple[str, ...]
    #: name -> plan variant, for the plans oracle
    plans: dict[str, PlanVariant]
    #: (variable, values) the generator may set between queries; filtered by what the server accepts
    session_switches: tuple[tuple[str, tuple[str, ...]], ...]
    clustered_keys: bool = False
    #: functions this server lacks (never generated for it)
    missing_functions: frozenset[str] = field(default_factory=frozenset)
    #: the session variable and value that bound one statement's time (a generated query is never meant to be slow)
    statement_timeout: tuple[str, str] = ("max_execution_time", "10000")
    #: JOIN kinds the server has
    joins: tuple[str, ...] = ("JOIN", "LEFT JOIN", "RIGHT JOIN", "CROSS JOIN", "STRAIGHT_JOIN")
    #: what every CREATE TABLE ends with. InnoDB recalculates a table's statistics in a background thread once a
    #: tenth of its rows changed, at a moment that depends on timing, and plans follow the statistics: a bug
    #: that shows only under the new ones then shows in the run and not in its replay (4 flaky candidates of a
    #: MariaDB run were that). Without it, statistics change only with the generator's ANALYZE TABLE, which
    #: is replayed. (TiDB analyzes by itself only tables of 1,000 rows and more, which the hunt's are not.)
    table_options: str = ""

    def render_hints(self, hints: str) -> str:
        return f"/*+ {hints} */ " if hints else ""


TIDB = Dialect(
    kind="tidb",
    collations=("utf8mb4_bin", "utf8mb4_general_ci", "utf8mb4_unicode_ci", "latin1_bin", "ascii_bin"),
    plans={
        "hash-join": _join_hint("HASH_JOIN"),
        "merge-join": _join_hint("MERGE_JOIN"),
        "inl-join": _join_hint("INL_JOIN", last_only=True),
        "inl-hash-join": _join_hint("INL_HASH_JOIN", last_only=True),
        "hash-agg": _hint("HASH_AGG()"),
        "stream-agg": _hint("STREAM_AGG()"),
        "use-index": _index_hint("USE_INDEX"),
        "ignore-index": _index_hint("IGNORE_INDEX"),
        "index-merge": _index_hint("USE_INDEX_MERGE"),
        "no-index-merge": _hint("NO_INDEX_MERGE()"),
        "no-decorrelate": _hint("NO_DECORRELATE()"),
        "agg-push-down": _hint("SET_VAR(tidb_opt_agg_push_down=ON)"),
        "no-projection-push-down": _hint("SET_VAR(tidb_opt_projection_push_down=OFF)"),
        "insubq-no-join": _hint("SET_VAR(tidb_opt_insubq_to_join_and_agg=OFF)"),
        "no-null-aware-anti-join": _hint("SET_VAR(tidb_enable_null_aware_anti_join=OFF)"),
        "prefer-range-scan": _hint("SET_VAR(tidb_opt_prefer_range_scan=ON)"),
        "no-outer-join-reorder": _hint("SET_VAR(tidb_enable_outer_join_reorder=OFF)"),
    },
    session_switches=(
        ("tidb_opt_agg_push_down", ("ON", "OFF")),
        ("tidb_opt_distinct_agg_push_down", ("ON", "OFF")),
        ("tidb_enable_index_merge", ("ON", "OFF")),
        ("tidb_opt_prefer_range_scan", ("ON", "OFF")),
        ("tidb_enable_outer_join_reorder", ("ON", "OFF")),
        ("tidb_opt_insubq_to_join_and_agg", ("ON", "OFF")),
        ("tidb_enable_null_aware_anti_join", ("ON", "OFF")),
        ("tidb_opt_derive_topn", ("ON", "OFF")),
        ("tidb_opt_skew_distinct_agg", ("ON", "OFF")),
    ),
    clustered_keys=True,
    statement_timeout=("max_execution_time", "10000"),
)

_MARIADB_FLAGS = ("index_merge=off", "index_merge_intersection=off", "index_condition_pushdown=off",
                  "derived_merge=off", "derived_with_keys=off", "firstmatch=off", "loosescan=off",
                  "materialization=off", "in_to_exists=off", "semijoin=off", "subquery_cache=off", "mrr=on",
                  "outer_join_with_cache=off", "join_cache_hashed=off", "join_cache_bka=off",
                  "table_elimination=off", "extended_keys=off", "exists_to_in=off",
                  "condition_pushdown_for_derived=off", "split_materialized=off",
                  "condition_pushdown_for_subquery=off", "rowid_filter=off", "condition_pushdown_from_having=off",
                  "not_null_range_scan=on")

MARIADB = Dialect(
    kind="mariadb",
    collations=("latin1_swedish_ci", "latin1_bin", "utf8mb4_general_ci", "utf8mb4_bin", "utf8mb4_unicode_ci"),
    plans={
        **{f"switch-{flag.split('=')[0]}": _mariadb_switch(flag) for flag in _MARIADB_FLAGS},
        "join-cache-level-0": _mariadb_var("join_cache_level", "0"),
        "join-cache-level-8": _mariadb_var("join_cache_level", "8"),
        "ignore-index": _ignore_index,
        "force-index": _force_index,
    },
    session_switches=(
        ("optimizer_switch", tuple(f"'{f}'" for f in _MARIADB_FLAGS[:12])),
        ("join_cache_level", ("0", "2", "4", "8")),
        ("optimizer_use_condition_selectivity", ("1", "4")),
    ),
    statement_timeout=("max_statement_time", "10"),
    table_options=" STATS_AUTO_RECALC=0",
)

MYSQL = Dialect(
    kind="mysql",
    collations=("latin1_swedish_ci", "latin1_bin", "utf8mb4_0900_ai_ci", "utf8mb4_bin", "utf8mb4_general_ci"),
    plans={
        "no-bnl": _hint("NO_BNL()"),
        "no-icp": _hint("NO_ICP()"),
        "no-index-merge": _hint("NO_INDEX_MERGE()"),
        "no-semijoin": _hint("NO_SEMIJOIN()"),
        "no-merge": _hint("NO_MERGE()"),
        "no-hash-join": _hint("SET_VAR(optimizer_switch='hash_join=off')"),
        "no-derived-condition-pushdown": _hint("SET_VAR(optimizer_switch='derived_condition_pushdown=off')"),
        "ignore-index": _ignore_index,
        "force-index": _force_index,
    },
    session_switches=(
        ("optimizer_switch", ("'index_merge=off'", "'block_nested_loop=off'", "'semijoin=off'",
                              "'derived_merge=off'", "'index_condition_pushdown=off'")),
    ),
    table_options=" STATS_AUTO_RECALC=0",
)

DIALECTS = {"tidb": TIDB, "mariadb": MARIADB, "mysql": MYSQL}


def dialect_for(kind: str) -> Dialect:
    return DIALECTS.get(kind, MYSQL)
