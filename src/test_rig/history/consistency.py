"""Consistency models and the anomalies each one rules out, as Elle relates them (elle.consistency-model):
which models a history's anomalies make impossible (`boundary`), and which anomalies a model forbids
(`prohibited`). Pure data and graph walks; the names are Elle's friendly names, Adya's PL-n names accepted.

The tables follow Elle's own (models and implications from Adya, Bailis, Cerone and others, as Elle
cites them), with test-rig's bank anomalies added where Elle has none."""

from __future__ import annotations

from collections.abc import Iterable

#: Adya's names (and Elle's other aliases) -> the names test-rig shows.
ALIASES: dict[str, str] = {
    "PL-1": "read-uncommitted", "PL-2": "read-committed", "PL-2.99": "repeatable-read", "PL-3": "serializable",
    "PL-SI": "snapshot-isolation", "PL-SS": "strict-serializable", "PL-CS": "cursor-stability",
    "PL-2+": "consistent-view", "PL-2L": "monotonic-view", "PL-MSR": "monotonic-snapshot-read",
    "PL-FCV": "forward-consistent-view", "PL-3U": "update-serializable",
    "conflict-serializable": "serializable", "strong-serializable": "strict-serializable",
    "strong-session-PL-1": "strong-session-read-uncommitted", "strong-session-PL-2": "strong-session-read-committed",
    "strong-PL-1": "strong-read-uncommitted", "strong-PL-2": "strong-read-committed",
}

#: model -> the models it implies (a history satisfying the key satisfies each of these).
IMPLIES: dict[str, tuple[str, ...]] = {
    "causal-cerone": ("read-atomic",),
    "consistent-view": ("cursor-stability", "monotonic-view"),
    "serializable": ("repeatable-read", "snapshot-isolation", "view-serializable", "update-serializable"),
    "cursor-stability": ("read-committed",),
    "forward-consistent-view": ("consistent-view",),
    "read-committed": ("read-uncommitted",),
    "update-serializable": ("forward-consistent-view",),
    "monotonic-atomic-view": ("read-committed",),
    "monotonic-view": ("read-committed",),
    "monotonic-snapshot-read": ("read-committed",),
    "parallel-snapshot-isolation": ("causal-cerone", "update-atomic"),
    "prefix": ("causal-cerone",),
    "read-atomic": ("monotonic-atomic-view",),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "update-atomic": ("read-atomic",),
    "session-serializable": ("1SR",),
    "snapshot-isolation": ("forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
                           "parallel-snapshot-isolation", "prefix"),
    "strict-serializable": ("serializable", "linearizable", "snapshot-isolation", "strong-snapshot-isolation",
                            "strong-session-serializable", "session-serializable"),
    "strong-session-read-uncommitted": ("read-uncommitted",),
    "strong-session-read-committed": ("read-committed", "strong-session-read-uncommitted"),
    "strong-read-uncommitted": ("strong-session-read-uncommitted",),
    "strong-read-committed": ("strong-session-read-committed", "strong-read-uncommitted"),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "strong-session-snapshot-isolation": ("snapshot-isolation", "strong-session-read-committed"),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation", "strong-read-committed"),
    "linearizable": ("sequential",),
    "sequential": ("causal",),
    "causal": ("writes-follow-reads", "PRAM"),
    "PRAM": ("monotonic-reads", "monotonic-writes", "read-your-writes"),
}

#: model -> the anomalies it rules out itself (beyond what the models it implies rule out).
PROSCRIBES: dict[str, tuple[str, ...]] = {
    "causal-cerone": ("internal", "G1a"),
    "cursor-stability": ("G1", "G-cursor", "lost-update"),
    "monotonic-view": ("G1", "G-monotonic"),
    "monotonic-snapshot-read": ("G1", "G-MSR"),
    "consistent-view": ("G1", "G-single"),
    "forward-consistent-view": ("G1", "G-SIb"),
    "parallel-snapshot-isolation": ("internal", "G1a"),
    "serializable": ("G1", "G2", "internal", "predicate-read-miss"),
    "read-committed": ("G1",),
    "read-uncommitted": ("G0", "duplicate-elements", "cyclic-versions", "garbage-read", "duplicate-writes"),
    "prefix": ("internal", "G1a"),
    "snapshot-isolation": ("internal", "G1", "G-SI", "G-nonadjacent"),
    "read-atomic": ("internal", "G1a", "future-read"),
    "repeatable-read": ("G1", "G2-item", "lost-update"),
    "update-atomic": ("lost-update",),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime"),
    "strong-session-read-uncommitted": ("G0-process",),
    "strong-session-read-committed": ("G1c-process",),
    "strong-read-uncommitted": ("G0-realtime",),
    "strong-read-committed": ("G1c-realtime",),
    "strong-session-snapshot-isolation": ("internal", "G1-process", "G-nonadjacent-process"),
    "strong-snapshot-isolation": ("internal", "G1-realtime", "G-nonadjacent-realtime"),
    "strong-session-serializable": ("G1-process", "G2-process"),
    "update-serializable": ("G1", "G-update"),
}
# test-rig's bank anomalies: a total that drifts comes from a lost update or from a read that is not
# atomic; which one, the reads cannot say, so only the models that forbid both are ruled out.
for _model in ("repeatable-read", "snapshot-isolation"):
    PROSCRIBES[_model] = (*PROSCRIBES[_model], "wrong-total", "negative-value", "nil-balance")

#: anomaly -> the anomalies its presence implies (G0 is also a G1c, G1a is a G1, and so on).
IMPLIED: dict[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"), "G0-process": ("G1c-process", "G0-realtime"), "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",), "G1b": ("G1",), "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"), "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",), "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "GSIb", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2": ("G2-process",), "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"), "G2-item-realtime": ("G2-realtime",),
    "G2-process": ("G2-realtime",),
    "GSIa": ("GSI",), "GSIb": ("GSI",),
    "incompatible-order": ("G1a",), "future-read": ("G1c",), "dirty-update": ("G1a",),
    "lost-update": ("write-skew", "G2-item"), "write-skew": ("G2",),
}

#: Anomalies that make a verdict `unknown` rather than invalid (Elle's), with test-rig's own reasons.
UNKNOWN_TYPES = ("empty-transaction-graph", "cycle-search-timeout", "duplicate-appends", "unexpected-micro-op",
                 "no-read", "checker-error")

MODELS: tuple[str, ...] = tuple(sorted(set(IMPLIES) | {m for ms in IMPLIES.values() for m in ms} | set(PROSCRIBES)))
#: The models whose anomalies need process-order edges, and those that need real-time edges.
KNOWN_NAMES: tuple[str, ...] = tuple(sorted(set(MODELS) | set(ALIASES)))


def canonical(name: str) -> str | None:
    """The name test-rig uses for a model (Elle's friendly name), or None when Elle knows no such model."""
    name = name.strip().removeprefix(":")
    name = ALIASES.get(name, name)
    return name if name in MODELS else None


def _walk(start: Iterable[str], edges: dict[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        x = todo.pop()
        if x not in seen:
            seen.add(x)
            todo.extend(edges.get(x, ()))
    return seen


def _reverse(edges: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a, bs in edges.items():
        for b in bs:
            out.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in out.items()}


_IMPLIED_BY = _reverse(IMPLIED)
_IMPLIED_MODELS_BY = _reverse(IMPLIES)
_PROSCRIBED_BY = _reverse(PROSCRIBES)


def implied_models(models: Iterable[str]) -> set[str]:
    """The models and every model they imply."""
    return _walk(models, IMPLIES)


def stronger_models(models: Iterable[str]) -> set[str]:
    """The models and every model that implies one of them."""
    return _walk(models, _IMPLIED_MODELS_BY)


def implied_anomalies(anomalies: Iterable[str]) -> set[str]:
    return _walk(anomalies, IMPLIED)


def anomalies_implying(anomalies: Iterable[str]) -> set[str]:
    return _walk(anomalies, _IMPLIED_BY)


def prohibited(models: Iterable[str], anomalies: Iterable[str] = ()) -> set[str]:
    """Every anomaly whose presence means one of `models` does not hold, or that is one of `anomalies`
    (or implies one of them): what makes a history invalid (Elle's prohibited-anomaly-types)."""
    direct = {a for m in implied_models(models) for a in PROSCRIBES.get(m, ())}
    return anomalies_implying(direct) | anomalies_implying(anomalies)


def impossible_models(anomalies: Iterable[str]) -> set[str]:
    """The models that cannot hold given these anomalies."""
    direct = {m for a in implied_anomalies(anomalies) for m in _PROSCRIBED_BY.get(a, ())}
    return stronger_models(direct)


def boundary(anomalies: Iterable[str]) -> tuple[list[str], list[str]]:
    """(not, also_not): the weakest models the anomalies rule out, and the stronger ones they rule out too."""
    impossible = impossible_models(anomalies)
    weakest = {m for m in impossible if not (implied_models([m]) - {m}) & impossible}
    return sorted(weakest), sorted(impossible - weakest)


def needs_realtime(prohibited_types: set[str]) -> bool:
    return any(t.endswith("-realtime") for t in prohibited_types)


def needs_process(prohibited_types: set[str]) -> bool:
    return any(t.endswith("-process") for t in prohibited_types)
