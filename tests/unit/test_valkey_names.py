"""Valkey names masterauth/masteruser primaryauth/primaryuser (issue 11.6): the plan
says which name the server uses, CONFIG SET sends that name, render writes the
name every flavour loads (masterauth)."""

from __future__ import annotations

import textwrap

from borgconf.apply import apply_target
from borgconf.fleet import desired_secrets, desired_users
from borgconf.live import read_state
from borgconf.planner import build_plan
from borgconf.render import render_redis_conf
from borgconf.spec import load_spec
from borgconf.users import managed
from facts import load
from fakeredis_client import FakeLock, FakeRedis


class FakeValkey(FakeRedis):
    def __init__(self):
        super().__init__()
        self.config = dict(load("valkey-9.1", "config-get.json"))
        self.file = dict(self.config)

    def _info(self):
        info = super()._info()
        info.update(server_name="valkey", valkey_version="9.1.2", redis_version="7.2.4")
        return info


def _spec(tmp_path, name: str):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\ntarget:\n  url: redis://fake:6379\n" + textwrap.dedent(f"server:\n  {name}: primary-pw-1\n  masteruser: repl\n"))
    return load_spec(p, env={})


def _plan(fake, spec):
    (target,) = spec.targets
    live = read_state(fake, target, spec.commands, managed(spec))
    (tp,) = build_plan(spec, {target.name: live}).targets
    return target, tp


def test_valkey_plan_names_primaryauth_and_config_set_sends_it(tmp_path):
    for name in ("masterauth", "primaryauth"):
        fake = FakeValkey()
        spec = _spec(tmp_path, name)
        target, tp = _plan(fake, spec)
        changes = {c.parameter: c for c in tp.changes}
        assert set(changes) == {"masterauth", "masteruser"}  # one identity whatever the spec calls it
        assert "Valkey 9.1.2 calls it primaryauth" in changes["masterauth"].reason
        assert "Valkey 9.1.2 calls it primaryuser" in changes["masteruser"].reason
        assert "primary-pw-1" not in changes["masterauth"].reason
        apply_target(fake, target, tp, secrets=desired_secrets(spec), users=desired_users(spec), persist="rewrite", lock_timeout=0, lock_factory=FakeLock)
        (config_set,) = [c for c in fake.calls if c[:2] == ("CONFIG", "SET")]
        assert set(config_set[2::2]) == {"primaryauth", "primaryuser"}


def test_redis_plan_says_nothing_of_other_names_and_sets_masterauth(tmp_path):
    fake = FakeRedis()
    spec = _spec(tmp_path, "primaryauth")
    target, tp = _plan(fake, spec)
    assert all("calls it" not in c.reason for c in tp.changes)
    apply_target(fake, target, tp, secrets=desired_secrets(spec), users=desired_users(spec), persist="rewrite", lock_timeout=0, lock_factory=FakeLock)
    (config_set,) = [c for c in fake.calls if c[:2] == ("CONFIG", "SET")]
    assert set(config_set[2::2]) == {"masterauth", "masteruser"}


def test_render_writes_the_name_both_flavours_load(tmp_path):
    text = render_redis_conf(_spec(tmp_path, "primaryauth"))
    assert "\nmasterauth " in text and "\nmasteruser repl" in text
    assert "primaryauth" not in text and "primaryuser" not in text
