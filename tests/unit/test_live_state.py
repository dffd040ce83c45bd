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


INFO_TEXT = """# Server\r
redis_version:7.2.4\r
server_name:valkey\r
valkey_version:8.1.8\r
redis_mode:standalone\r
run_id:0123456789abcdef0123456789abcdef01234567\r
config_file:/etc/valkey/valkey.conf\r
# Memory\r
used_memory:1048576\r
used_memory_human:1.00M\r
total_system_memory:25276182528\r
# Replication\r
role:slave\r
master_host:10.0.0.5\r
master_port:6380\r
master_link_status:up\r
slave_read_repl_offset:0\r
# Keyspace\r
db0:keys=12,expires=0,avg_ttl=0\r
db3:keys=1,expires=1,avg_ttl=100,subexpiry=0\r
"""


def test_info_text_gives_the_facts_redis_py_parsing_gives():
    """read_state reads INFO as the server's text and takes a dozen fields from it
    (live.INFO_FIELDS); what a plan gets from it is what redis-py's full parse gives."""
    from redis._parsers.helpers import parse_info as redis_parse_info

    from borgconf.live import parse_info

    mine = parse_info(INFO_TEXT)
    assert mine == parse_info(redis_parse_info(INFO_TEXT))
    assert mine["flavour"] == "valkey" and mine["version"] == "8.1.8" and mine["keyspace"] == {0: 12, 3: 1}
    assert mine["role"] == "replica" and mine["primary"] == "10.0.0.5:6380" and mine["used_memory"] == 1048576


def test_info_dict_gives_every_field_with_slave_and_db_lines_as_dicts():
    """status and import read all of INFO (live.info_dict), without redis-py's private parser."""
    from borgconf.live import info_dict
    from borgconf.status import keyspace

    text = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.6,port=6380,state=online,offset=42,lag=0\r\n" + INFO_TEXT.split("# Keyspace\r\n")[1]
    info = info_dict(text)
    assert info["role"] == "master" and info["connected_slaves"] == "1"
    assert info["slave0"] == {"ip": "10.0.0.6", "port": "6380", "state": "online", "offset": "42", "lag": "0"}
    assert keyspace(info) == {0: 12, 3: 1}
    assert info_dict({"role": "master"}) == {"role": "master"}  # a parsed reply (a test double's) as it is
