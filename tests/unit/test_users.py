"""ACL users: comparison rules, pinned by the replies servers gave (redis-facts/*/acl.md)."""

from __future__ import annotations

from types import SimpleNamespace

from borgconf import users as U

# ACL GETUSER n8n after `ACL SETUSER n8n on >pw ~bull:* +@all -@dangerous` (redis-facts acl.md)
GETUSER_70 = ["flags", ["on"], "passwords", ["30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"],
              "commands", "+@all -@dangerous", "keys", "~bull:*", "channels", "", "selectors", []]
GETUSER_82 = ["flags", ["on", "sanitize-payload"], "passwords", ["30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"],
              "commands", "+@all -@dangerous", "keys", "~bull:*", "channels", "", "selectors", []]


def spec_user(**kw):
    base = dict(password="pw", enabled=True, keys=["bull:*"], channels=[], commands="+@all -@dangerous")
    base.update(kw)
    return SimpleNamespace(**base)


def test_captured_replies_are_in_sync_with_the_spec_that_made_them():
    want = U.desired_state(spec_user())
    for reply in (GETUSER_70, GETUSER_82):
        assert U.in_sync(U.parse_getuser(reply), want) == (True, True)
    assert U.in_sync(U.parse_getuser(GETUSER_70), U.desired_state(spec_user(password="other"))) == (True, False)
    assert U.parse_getuser(None) is None


def test_rules_keep_their_order_and_compare_as_a_multiset():
    # sent in the spec's order: "-config +config|get" means something else sorted
    assert U.normalize_commands("+@all -config +config|get") == ("+@all", "-config", "+config|get")
    assert U.normalize_commands("-@all +get +get") == ("+get",)
    assert U.normalize_commands("allcommands") == ("+@all",)
    a = U.desired_state(spec_user(commands="+get +set"))
    b = U.parse_getuser(GETUSER_70[:5] + ["-@all +set +get"] + GETUSER_70[6:])
    assert U.in_sync(b, U.desired_state(spec_user(commands="+get +set")))[0]  # Redis 7.0 prints them reversed
    assert a.commands == ("+get", "+set")


def test_selectors_and_extra_flags_are_never_in_sync():
    line = "on sanitize-payload #30c9 ~bull:* resetchannels +@all -@dangerous (~secret:* resetchannels -@all +get)"
    live = U.parse_getuser(GETUSER_70, line)
    assert live.selectors == ("~secret:* resetchannels -@all +get",)
    assert U.in_sync(live, U.desired_state(spec_user())) == (False, True)
    assert U.split_acl_rules(line)[-1] == "(~secret:* resetchannels -@all +get)"
    restore = U.restore_args("n8n", live)
    assert restore[:4] == ["ACL", "SETUSER", "n8n", "reset"] and restore[-1].startswith("(")
    skip = ["flags", ["on", "skip-sanitize-payload"]] + GETUSER_70[2:]
    assert U.in_sync(U.parse_getuser(skip), U.desired_state(spec_user()))[0] is False


def test_description_never_holds_the_password():
    state = U.desired_state(spec_user(password="hunter2-secret"))
    assert "hunter2" not in state.describe() and U.password_hash("hunter2-secret") not in state.describe()
    assert state.describe() == "on ~bull:* resetchannels +@all -@dangerous"


def test_spec_users_are_validated(tmp_path):
    import pytest

    from borgconf.errors import SpecError
    from borgconf.spec import load_spec

    for body, expect in (
        ('users:\n  default: {password: "x"}\n', "requirepass"),
        ('users:\n  u: {commands: "+@all >TopSecretInCmd"}\n', "commands takes"),
    ):
        p = tmp_path / "s.yaml"
        p.write_text("version: 1\n" + body)
        with pytest.raises(SpecError, match=expect) as exc:
            load_spec(p, env={})
        assert "TopSecretInCmd" not in str(exc.value)


def test_rendered_user_lines_keep_selector_style_key_rules(tmp_path):
    from borgconf.render import render_redis_conf
    from borgconf.spec import load_spec

    p = tmp_path / "s.yaml"
    p.write_text('version: 1\nusers:\n  u: {password: "pw-x-123", keys: ["%R~cache:*", "app:*"], channels: ["news"]}\n')
    conf = render_redis_conf(load_spec(p, env={}), total_memory=1)
    line = next(l for l in conf.splitlines() if l.startswith("user u "))
    assert " %R~cache:* " in line and " ~app:* " in line and " &news" in line and "~%R" not in line


# ---------------------------------------------------------------- issue 10: rules compared by what they grant


def _table():
    from borgconf.users import parse_command_table

    def cmd(name, cats, subs=(), flags=()):
        return [name, -1, list(flags), 0, 0, 0, [f"@{c}" for c in cats], [], [], [cmd(s, c) for s, c in subs]]

    return parse_command_table([
        cmd("get", ["read", "string"]),
        cmd("set", ["write", "string"]),
        cmd("flushall", ["write", "dangerous"]),
        cmd("keys", ["read", "dangerous"]),
        cmd("config", ["slow"], subs=[("config|get", ["admin", "dangerous"]), ("config|set", ["admin", "dangerous"])]),
        cmd("mod.x", ["write"], flags=["module"]),
    ])


def test_granted_follows_acl_c():
    from borgconf.users import granted

    t = _table()
    assert granted(("+@read", "+@write", "-@dangerous"), t) == (False, frozenset({"get", "set"}))
    assert granted(("+@string",), t) == granted(("+get", "+set"), t)
    assert granted(("-@dangerous", "+@all"), t) == granted(("+@all",), t)
    assert granted(("+@all", "-flushall"), t)[0] is False  # clearing any bit clears allcommands
    assert granted(("+config",), t) == (False, frozenset({"config|get", "config|set"}))  # a container brings its subcommands
    assert "mod.x" not in granted(("+@write",), t)[1]  # categories skip module commands
    assert granted(("+config|nosuch",), t) is None and granted(("+@nosuchcategory",), t) is None
    assert granted(("+@read", "-renamedaway"), t) == granted(("+@read",), t)  # not in COMMAND: only explicit rules
    assert granted(("+renamedaway",), t) != granted((), t)


def test_same_rules_uses_the_table_only_when_spellings_differ():
    from borgconf.users import UserState

    t = _table()
    a = UserState(True, ("~*",), (), ("+@read", "+@write", "-@dangerous"), frozenset())
    b = UserState(True, ("~*",), (), ("+get", "+set"), frozenset())
    c = UserState(True, ("~*",), (), ("+get",), frozenset())
    assert not a.same_rules(b) and a.same_rules(b, t) and not a.same_rules(c, t)
    assert not UserState(True, ("~app:*",), (), b.commands, frozenset()).same_rules(b, t)  # keys still compared


def test_denials_follow_the_users_rules_and_are_left_to_acl_dryrun():
    want = U.with_denials(U.desired_state(spec_user(commands="-@all +get")), ["FLUSHALL"])
    assert want.commands == ("+get", "-flushall") and want.denied == ("-flushall",)
    assert U.setuser_args("u", want, None)[-2:] == ["+get", "-flushall"]  # the denial comes last: it wins
    # Redis 7.0 describes "-@all +get -flushall" as "-@all +get": still the same rules
    live = U.parse_getuser(["flags", ["on"], "passwords", [], "commands", "-@all +get", "keys", "~bull:*", "channels", "", "selectors", []])
    assert live.same_rules(want) and want.same_rules(live)
    other = U.parse_getuser(["flags", ["on"], "passwords", [], "commands", "-@all +get +set", "keys", "~bull:*", "channels", "", "selectors", []])
    assert not other.same_rules(want)
    allowed = U.with_denials(U.desired_state(spec_user(commands="+@all +flushall")), ["FLUSHALL"])
    assert allowed.commands == ("+@all", "+flushall", "-flushall")


def test_command_rules_of_an_acl_line():
    line = "on sanitize-payload #abc ~* &* +@all -flushall (+get ~x)"
    assert U.command_rules(line) == ["+@all", "-flushall"]
