"""Issue 10 group 5: validate's offline checks of commands: and users' rules are
the servers' own.

* The shipped command tables (borgconf/data/commands.json) hold exactly what
  each fixture server answers to COMMAND LIST, its module commands, and the
  ACL categories of ACL CAT.
* spec/acl.py's rule grammar agrees with ``ACL SETUSER`` of each server, rule
  sequence by rule sequence: accepted where the server accepts, refused where
  it refuses (besides the two refusals that are borgconf's own, each listed),
  for a fixed list of rules and for generated sequences (hypothesis).
* Each rename-command refusal of validate is a start-up refusal of the server
  (the line the earlier borgconf rendered), and the accepted forms start.
"""

from __future__ import annotations

import pytest
import redis

from acl_lines import check_user_rules
from borgconf.spec.acl import RuleError, command_table
from redis_servers import RedisServerError

HASH = "a" * 64

# (rules after "reset", borgconf refuses although the server accepts)
RULES = [
    (["~app:*"], False), (["%R~cache:*"], False), (["%W~jobs:*"], False), (["%RW~x"], False), (["%wr~x"], False),
    (["%R~"], False), (["~"], False), (["%RW>x"], False), (["%RR~x"], False), (["%~x"], False), (["%X~y"], False),
    (["%R"], True), (["%RW"], True),  # a pattern that matches only the empty key name
    (["~*", "~app:*"], False), (["allkeys", "%R~x"], False), (["~x", "~*"], True), (["~*", "resetkeys", "~x"], False),
    (["allkeys"], False), (["ALLKEYS"], False),
    (["&news"], False), (["&*", "&news"], False), (["allchannels", "&x"], False), (["&x", "&*"], True),
    (["&*", "resetchannels", "&x"], False),
    (["+get"], False), (["+GET"], False), (["-flushall"], False), (["+notacommand"], False), (["-notacommand"], False),
    (["+@read"], False), (["+@al"], False), (["-@dangerous"], False), (["-@dangerus"], False), (["+@ALL"], False),
    (["allcommands"], False), (["nocommands"], False), (["+@"], False), (["+"], False), (["-"], False),
    (["+config|get"], False), (["+CONFIG|GET"], False), (["+config|gett"], False), (["-config|set"], False),
    (["-config|nosuch"], False), (["+select|0"], False), (["-select|0"], False), (["+config|get|x"], False),
    (["+select|0|1"], False), (["+config|"], False), (["+get|"], False), (["-config|"], False), (["+|get"], False),
    (["+client|capa"], False), (["+delifeq"], False), (["+vadd"], False), (["+hexpire"], False), (["-commandlog|get"], False),
    (["on"], False), (["off"], False), (["nopass"], False), (["resetpass"], False), ([">Wq8Zr4Kp2Mx6"], False),
    (["#" + HASH], False), (["#abc"], False), (["#" + HASH.upper()], False), (["sanitize-payload"], False),
    (["skip-sanitize-payload"], False), (["clearselectors"], False), (["reset"], False),
    (["(~x +get)"], False), (["(~x +nosuch)"], False), (["(%RW>x)"], False), (["(&* &x)"], False), (["()"], False),
    (["bogus"], False), (["~a b"], False),
]


def _names(rules: list[str]) -> set[str]:
    """The commands (and subcommands) a rule sequence names, for "only some servers know it"."""
    out = set()
    for r in rules:
        for w in r.strip("()").split():
            if w[:1] in "+-" and w[1:2] != "@" and len(w) > 1:
                name = w[1:].lower()
                if name.count("|") == 1 and name.split("|")[0] not in command_table().subcommands:
                    name = name.split("|")[0]  # +select|0: a first argument
                out.add(name)
    return out


def test_shipped_command_table_is_the_servers(redis_server, server_key):
    table = command_table()
    client = redis_server.client()
    listed = client.command_list()
    have = {n for n, servers in table.known.items() if server_key in servers}
    assert {n.lower() for n in listed} == have
    assert sorted(client.acl_cat()) == sorted(table.categories)
    modules = set(client.command_list(module="vectorset")) if "vadd" in have else set()
    assert {n.lower() for n in modules} == table.module & have


@pytest.mark.parametrize("rules,ours", RULES, ids=[" ".join(r) or "empty" for r, _ in RULES])
def test_rule_grammar_agrees_with_acl_setuser(redis_server, server_key, rules, ours):
    table = command_table()
    try:
        check_user_rules(["reset", *rules])
        checker = None
    except RuleError as e:
        checker = str(e)
    client = redis_server.client()
    try:
        client.execute_command("ACL", "SETUSER", "grammar-probe", "reset", *rules)
        server = None
    except redis.ResponseError as e:
        server = str(e)
    unknown_here = [n for n in _names(rules) if table.servers_of(n) and server_key not in table.servers_of(n)]
    if unknown_here:  # a command only other servers have: borgconf accepts it, this server does not
        assert checker is None and server is not None, (checker, server)
    elif ours:
        assert checker is not None and server is None, (checker, server)
    else:
        assert (checker is None) == (server is None), f"borgconf: {checker!r}; {server_key}: {server!r}"


RENAME_REFUSED = {
    "unknown command": ['rename-command NOTACOMMAND ""'],
    "module command": ['rename-command VADD ""'],
    "new name is a command": ["rename-command FLUSHALL FLUSHDB"],
    "new name is a command, other case": ["rename-command CONFIG get"],
    "two commands, one new name": ["rename-command FLUSHALL Qz7Wk3Rp9Lm2Xv", "rename-command FLUSHDB qZ7wK3rP9lM2xV"],
    "one command twice": ['rename-command flushall ""', "rename-command FLUSHALL Tn4Hs8Jd2Fg6Bc"],
    "a user with %RW>x": ["user app on nopass %RW>x +@all"],
    "a user with a key after *": ["user app on nopass ~* ~app:* +@all"],
}


@pytest.mark.parametrize("case", list(RENAME_REFUSED), ids=list(RENAME_REFUSED))
def test_what_validate_refuses_the_server_refuses_to_start_with(redis_factory, case):
    with pytest.raises(RedisServerError):
        redis_factory(RENAME_REFUSED[case])


def test_what_validate_accepts_starts(redis_factory):
    server = redis_factory([
        'rename-command FLUSHALL ""', "rename-command KEYS Hm5Xc2Vb8Nq4Jz", "rename-command DEBUG Dq3Vn7Xk1Rb5Hs",
        "user app on nopass %R~x ~app:* &news +@all -flushall +config|get +select|0",
    ])
    assert server.running


def test_generated_rule_sequences_agree_with_acl_setuser(redis_server, server_key):
    """Rule sequences built from the grammar's pieces (prefixes, permission letters,
    names that exist and that do not, categories and near misses, |, selectors):
    borgconf refuses exactly what the server's ACL SETUSER refuses, except its two
    own refusals (%R without ~pattern, a pattern before *)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    table = command_table()
    everywhere = sorted(n for n, have in table.known.items() if len(have) == len(table.servers))
    names = st.one_of(st.sampled_from(everywhere), st.sampled_from(["notacmd", "flushal", "config|gett", "select|0", "get|x", "", "|"]))
    category = st.one_of(st.sampled_from([*table.categories, "all"]), st.sampled_from(["al", "READ", "dangerus", ""]))
    pattern = st.text(alphabet="ab*:?{}%~&|>", max_size=5)
    perms = st.text(alphabet="RWrwX~", max_size=4)
    rule = st.one_of(
        st.builds(lambda p: "~" + p, pattern),
        st.builds(lambda f, p: "%" + f + p, perms, pattern),
        st.builds(lambda p: "&" + p, pattern),
        st.builds(lambda s, n: s + n, st.sampled_from("+-"), names),
        st.builds(lambda s, c: s + "@" + c, st.sampled_from("+-"), category),
        st.sampled_from(["allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands", "on", "off",
                         "nopass", "reset", "clearselectors", "#" + HASH, "#" + HASH[:10], "bogus", "~*", "&*"]),
    )
    selector = st.builds(lambda rs: "(" + " ".join(rs) + ")", st.lists(rule, min_size=1, max_size=3))
    client = redis_server.client()
    ours = ("has no ~pattern", "allows every")

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(rules=st.lists(st.one_of(rule, rule, rule, selector), min_size=1, max_size=3))
    def prop(rules):
        try:
            check_user_rules(["reset", *rules])
            checker = None
        except RuleError as e:
            checker = str(e)
        try:
            client.execute_command("ACL", "SETUSER", "grammar-prop", "reset", *rules)
            server = None
        except redis.ResponseError as e:
            server = str(e)
        if checker is not None and server is None and any(o in checker for o in ours):
            return
        assert (checker is None) == (server is None), f"{rules}: borgconf {checker!r}; {server_key}: {server!r}"

    prop()
