"""Catalogue tests as `test-rig run` handlers: `test-rig run examples/isolation_handlers.py`.

Each states what the team expects of its database; the run fails when the server does otherwise.
"""

from test_rig.isolation.handler import CatalogueCheck


class NoLostUpdatesWhenSerializable(CatalogueCheck):
    test_name = "P4"
    isolation = "serializable"
    expect = "prevented"


class NoDirtyReadsWhenReadCommitted(CatalogueCheck):
    test_name = "G1a"
    isolation = "read-committed"
    expect = "prevented"


class RepeatableReadAllowsWriteSkew(CatalogueCheck):
    """Documents a known weakness: InnoDB's REPEATABLE READ lets write skew commit."""

    test_name = "G2-item"
    isolation = "repeatable-read"
    expect = "anomaly"
