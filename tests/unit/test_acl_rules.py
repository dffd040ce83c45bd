"""spec/acl.py (Redis's ACL rule grammar, offline), commands: values close to
disabled/enabled, and key rules compared as Redis describes them (issue 10).
The same grammar against the servers' own ACL SETUSER: tests/integration/test_acl_grammar_live.py."""

from __future__ import annotations

import pytest

from acl_lines import check_user_rules
from borgconf.spec.acl import RuleError, Selector, check_selector_rule, rule_kind
from borgconf.spec.names import near_on_off
from borgconf.spec.secrets import is_secret_value
from borgconf.users import canonical_key_rules


@pytest.mark.parametrize("rules", [
    ["~app:*", "%R~cache:*", "%W~jobs:*", "%RW~x", "%wr~y", "&news", "+@read", "-@dangerous", "+config|get", "-config|set",
     "+select|0", "+GET", "allcommands", "nocommands", "+delifeq", "+vadd"],
    ["~x", "resetkeys", "~*", "resetkeys", "~y"],
    ["on", "nopass", ">Wq8Zr4Kp2Mx6", "#" + "0" * 64, "(~x +get)", "clearselectors", "reset", "~*"],
])
def test_rules_redis_accepts(rules):
    check_user_rules(rules)


@pytest.mark.parametrize("rules,expect", [
    (["+@al"], "did you mean '+@all'?"),
    (["-@dangerus"], "did you mean '-@dangerous'?"),
    (["+notacommand"], "unknown command 'notacommand'"),
    (["-flushal"], "did you mean '-flushall'?"),
    (["+config|gett"], "did you mean '+config|get'?"),
    (["-select|0"], "a first argument can only be allowed"),
    (["+config|get|x"], "Allowing first-arg of a subcommand is not supported"),
    (["+config|"], "nothing after |"),
    (["%RW>x"], "is not a key rule"),
    (["%RR~x"], "is not a key rule"),
    (["%~x"], "is not a key rule"),
    (["%foo"], "write ~%foo"),
    (["%R"], "has no ~pattern"),
    (["~*", "~x"], "comes after ~* (every key)"),
    (["~x", "allkeys"], "allkeys allows every key"),
    (["&*", "&x"], "comes after &* (every channel)"),
    (["#abc"], "64 lower-case hexadecimal"),
    (["(~x +nosuch)"], "in selector '(~x +nosuch)': unknown command 'nosuch'"),
    (["bogus"], "is not an ACL rule"),
])
def test_rules_refused_with_a_reason(rules, expect):
    with pytest.raises(RuleError, match=None) as exc:
        check_user_rules(rules)
    assert expect in str(exc.value)


def test_rule_kinds_and_selector_state():
    assert [rule_kind(r) for r in ("~x", "%R~x", "allkeys", "&x", "allchannels", "+get", "-@all", "nocommands", "(~x)", ">p", "nopass", "on")] == [
        "key", "key", "key", "channel", "channel", "command", "command", "command", "selector", "password", "password", "flag"]
    sel = Selector()
    check_selector_rule("~*", sel)
    assert sel.allkeys
    with pytest.raises(RuleError):
        check_selector_rule("%R~x", sel)


@pytest.mark.parametrize("value,near", [
    ("disbled", "disabled"), ("disable", "disabled"), ("Disabled ", "disabled"), (" disabled", "disabled"), ("DISABLD", "disabled"),
    ("off", "disabled"), ("no", "disabled"), ("enabeld", "enabled"), ("on", "enabled"), ("enable", "enabled"),
    ("disabled", None), ("Disabled", None), ("ENABLED", None), ("Qz7Wk3Rp9Lm2Xv", None), ("Disabled_debug", None), ("flushall_off", None),
])
def test_values_close_to_disabled_or_enabled(value, near):
    assert near_on_off(value) == near
    # refused at validate, so never a secret new name (which would be masked in every output)
    assert is_secret_value(("commands", "FLUSHALL"), value) == (near is None and value.lower() not in ("disabled", "enabled"))


def test_key_rules_compare_as_redis_describes_them():
    assert canonical_key_rules(["%RW~app:*", "%wr~b", "%r~c", "%R~d", "%W~d", "~e", "%W~e"]) == {"~app:*", "~b", "%R~c", "~d", "~e"}
    assert canonical_key_rules(["%W~x", "%R~y"]) == {"%W~x", "%R~y"}


def test_a_new_name_far_from_disabled_or_enabled_imports_no_difflib(tmp_path):
    """Validate of a valid spec leaves difflib out (issue 15; tests/unit/test_import_boundary.py):
    a renamed command's new name is told from a typo of disabled/enabled without it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nserver: {requirepass: Wq8Zr4Kp2Mx6Tn5}\ncommands: {FLUSHALL: disabled, KEYS: Qz7Wk3Rp9Lm2Xv}\n")
    code = f"import sys; from borgconf.__main__ import main; rc = main(['validate', {str(spec)!r}]); print(rc, 'difflib' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BORGCONF_URL")}, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert r.stdout.split()[-2:] == ["0", "False"], (r.stdout, r.stderr)
