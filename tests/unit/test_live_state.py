"""LiveState and what a plan is made of (borgconf.live.PLAN_INPUTS).

apply plans again under the lock only when the read under the lock gives the
plan other inputs than the read the plan was made from (fleet.apply_fleet); a
field added to LiveState must be named here, as a plan input or as one that
no plan reads, or a changed value of it would go unnoticed under the lock."""

from __future__ import annotations


from borgconf.live import PLAN_INPUTS, LiveState, same_plan_inputs
from borgconf.records import fields_of

NOT_PLANNED = {"used_memory", "keyspace", "auth"}  # move on their own / say how borgconf logged in


def state(**kw) -> LiveState:
    base = dict(address="127.0.0.1:7000", flavour="redis", version="8.2.3", run_id="r1", config_file="/x/redis.conf", config={"hz": "10"})
    return LiveState(**{**base, **kw})


def test_every_field_is_a_plan_input_or_named_as_not_one():
    fields = set(fields_of(LiveState))
    assert fields == set(PLAN_INPUTS) | NOT_PLANNED, fields ^ (set(PLAN_INPUTS) | NOT_PLANNED)


def test_only_the_fields_no_plan_reads_may_differ():
    a = state(used_memory=1000, keyspace={0: 3}, auth="target.password")
    assert same_plan_inputs(a, state(used_memory=2000, keyspace={0: 9}, auth="BORGCONF_PASSWORD"))
    assert not same_plan_inputs(a, state(config={"hz": "11"}))
    assert not same_plan_inputs(a, state(run_id="r2"))
    assert not same_plan_inputs(a, state(role="replica", primary="127.0.0.1:7001"))
    assert not same_plan_inputs(a, state(users={"app": None}))
