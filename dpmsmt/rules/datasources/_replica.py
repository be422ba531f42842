"""Facts shared by the replica-policy rules: the secondary's policy of a data source."""

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import NULL

SYNC_VALUES = (15, 30, 45, 60, 120, 240, 360, 720, 1440)


def replica_facts(view, f) -> dict:
    """Whether the rule's premise can hold (a secondary and a given secondary policy), and the
    policy's fields as ints; an absent policy is unknown, not wrong (rules.md)."""
    sp = f.secondary_policy
    return {
        "secondary": view.idx(f.secondary),
        "has_policy": sp is not None,
        "short_term": code("short_term", sp.short_term) if sp else NULL,
        "long_term": code("long_term", sp.long_term) if sp else NULL,
        "sync_minutes": sp.sync_minutes if sp and sp.sync_minutes is not None else NULL,
        "sync_before_recovery_point": bool(sp and sp.sync_before_recovery_point),
        "exclusions": len(sp.exclude_extensions) if sp else 0,
    }


def premise(f):
    import z3

    return z3.And(f.secondary != NULL, f.has_policy)


def disk_only_premise(f):
    import z3

    return z3.And(premise(f), f.long_term == code("long_term", "none"))
