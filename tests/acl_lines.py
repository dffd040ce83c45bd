"""Whole ``ACL SETUSER`` / ``user`` lines checked with borgconf's offline rule
grammar (borgconf/spec/acl.py): flags, passwords and selectors, which a spec
never holds (its users give keys, channels and command rules, checked one by
one with check_selector_rule), so this lives with the tests that hold the
grammar against the servers' own ACL SETUSER (test_acl_grammar_live.py,
test_acl_rules.py)."""

from __future__ import annotations

from borgconf.spec.acl import CommandTable, RuleError, Selector, check_selector_rule


def check_user_rule(op: str, sel: Selector, table: CommandTable | None = None) -> None:
    """One rule of an ``ACL SETUSER`` / ``user`` line (ACLSetUser): flags,
    passwords and selectors here, everything else in the root selector ``sel``."""
    low = op.lower()
    if not op or low in ("on", "off", "nopass", "resetpass", "skip-sanitize-payload", "sanitize-payload", "clearselectors"):
        return
    if low == "reset":
        sel.allkeys = sel.allchannels = False
        sel.keys, sel.channels = [], []
        return
    if op[0] in (">", "<"):
        return
    if op[0] in ("#", "!"):
        digest = op[1:]
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise RuleError("a password hash must be exactly 64 lower-case hexadecimal characters (Redis: \"The password hash must be exactly 64 characters\")")
        return
    if op[0] == "(" and op[-1] == ")":
        inner = Selector()
        for word in op[1:-1].split():
            try:
                check_selector_rule(word, inner, table)
            except RuleError as e:
                raise RuleError(f"in selector {op!r}: {e}") from None
        return
    check_selector_rule(op, sel, table)


def check_user_rules(rules: list[str], table: CommandTable | None = None) -> None:
    """A whole ``user`` line's rules after the name, in order (selectors as one word each)."""
    sel = Selector()
    for op in rules:
        check_user_rule(op, sel, table)
