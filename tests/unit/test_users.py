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


def test_single_command_rules_are_a_set_categories_keep_their_order():
    assert U.normalize_commands("+get +set") == U.normalize_commands("-@all +set +get")
    assert U.normalize_commands("+@all -@dangerous") != U.normalize_commands("-@dangerous +@all")
    assert U.normalize_commands("allcommands") == ("+@all",)
    assert U.normalize_commands("+GET +@ALL") == ("+get", "+@all")


def test_description_never_holds_the_password():
    state = U.desired_state(spec_user(password="hunter2-secret"))
    assert "hunter2" not in state.describe() and U.password_hash("hunter2-secret") not in state.describe()
    assert state.describe() == "on ~bull:* resetchannels +@all -@dangerous"
