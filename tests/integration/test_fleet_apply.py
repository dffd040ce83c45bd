"""A fleet on real Redis 7.0 and 8.2: exit codes 0/1/3, an unreachable target does not stop the others, an unreadable target never exits 0."""

from __future__ import annotations

from cli_helpers import run, write_fleet_with_a_dead_target, write_spec


def test_fleet_exit_codes(redis_factory, tmp_path, capsys):
    ok = redis_factory()
    broken = redis_factory(with_config_file=False)  # REWRITE impossible: this target fails
    body = f"""targets:
  - {{name: a, url: "{ok.url}"}}
  - {{name: b, url: "{broken.url}"}}
server:
  hz: HZ
"""
    spec = tmp_path / "fleet.yaml"
    ok.client().config_set("hz", "21")
    spec.write_text("version: 1\n" + body.replace("HZ", "21"))
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1, (out, err)  # nothing changed anywhere: an error, not a half-applied fleet
    spec.write_text("version: 1\n" + body.replace("HZ", "22"))
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 3 and "target b" in err
    assert ok.client().config_get("hz")["hz"] == "22" and broken.client().config_get("hz")["hz"] == "10"


def _fleet_with_a_dead_target(tmp_path, ok, *, hz: int):
    """A fleet spec: target a (a live server) and target dead (a port nobody listens on)."""
    return write_fleet_with_a_dead_target(tmp_path / "fleet.yaml", ok.url, f"  hz: {hz}\n")


def test_an_unreachable_target_does_not_stop_the_others(redis_factory, tmp_path, capsys):
    ok = redis_factory()
    spec = _fleet_with_a_dead_target(tmp_path, ok, hz=23)
    rc, out, err = run(capsys, "plan", "--out", tmp_path / "p.json", spec)
    assert rc == 1 and "Target a" in out and "hz: 10 -> 23" in out
    assert "target dead" in err and "incomplete plan" in err and not (tmp_path / "p.json").exists()
    rc, out, err = run(capsys, "plan", "--fail-fast", spec)
    assert rc == 1 and "Target a" not in out
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 3 and ok.client().config_get("hz")["hz"] == "23"

def test_fleet_apply_with_an_unreadable_target_never_exits_0(redis_factory, tmp_path, capsys):
    ok = redis_factory()
    spec = _fleet_with_a_dead_target(tmp_path, ok, hz=10)
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)  # a is in sync, dead cannot be read
    assert rc == 1 and "target dead" in err


def test_reads_ask_only_for_the_parameters_a_plan_needs(redis_factory, tmp_path, capsys):
    """Issue 12 (scale): a read asks CONFIG GET for the spec's parameters and the
    few lint and safety read (live.config_names, once per fleet), not all ~200;
    the reply says of them exactly what CONFIG GET * says: Valkey's second
    name of masterauth too, and never a hidden config CONFIG GET * leaves out."""
    from borgconf.fleet import read_targets
    from borgconf.live import ALWAYS_READ, config_names, connect, read_state
    from borgconf.spec import load_spec

    pw = "Wq5-tRn8!mZc3vB"
    srv = redis_factory(["maxmemory-policy allkeys-lru"], password=pw)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {srv.url}\n  password: {pw}\nserver:\n  hz: 15\n  maxmemory: 64mb\n  masterauth: {pw}\n")
    s = load_spec(spec, env={})
    read = read_targets(s, s.targets)
    [live] = read.states.values()
    everything = read_state(connect(s.target), s.target).config  # CONFIG GET *
    asked = set(config_names(s))
    assert {"hz", "maxmemory", "masterauth", *ALWAYS_READ} <= asked
    assert set(live.config) == {n for n in everything if n in asked}
    assert live.config == {n: everything[n] for n in live.config}
    assert "list-max-listpack-size" not in live.config and len(live.config) < len(everything) // 4
    assert live.config["maxmemory-policy"] == "allkeys-lru"
    # plan and apply are what they were: 3 changes, applied, then in sync
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    assert pw not in out + err


def test_apply_reads_under_the_lock_over_the_lock_connection(redis_factory, tmp_path, capsys):
    """The read under the apply lock is a pipeline of the lock client: it goes
    over the lock connection itself (redis-py's pipeline() would take another
    connection of the pool: one more connection and AUTH per target, and a read
    that is not on the connection holding the lock). One apply of one target:
    one connection, reused by the read, the lock and every command after."""
    pw = "Jd6-pXs4!kLq8wN"
    srv = redis_factory(password=pw)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {srv.url}\n  password: {pw}\nserver:\n  hz: 17\n")
    watcher = srv.client()

    def connections() -> int:
        return int(watcher.info("stats")["total_connections_received"])

    before = connections()
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    assert connections() - before == 1
    assert watcher.config_get("hz")["hz"] == "17"


def test_apply_of_one_target_takes_few_round_trips(redis_factory, tmp_path, capsys, monkeypatch):
    """Issue 12 (scale): the lock is taken with CLIENT SETNAME and CLIENT LIST in
    one round trip, and each command under the lock travels with the lock's
    check (CLIENT LIST ID) in one; the read under the lock travels with taking
    the lock (after its CLIENT LIST, so it ran under it), and the read back with
    the CONFIG SET (right after it): read, lock + read under the lock, CONFIG SET
    + read back, CONFIG REWRITE and letting go are 5 round trips, not 11; the
    check still runs before every command (CLIENT LIST ID twice)."""
    from redis.connection import Connection

    srv = redis_factory()
    spec = tmp_path / "s.yaml"
    spec.write_text(f"version: 1\ntarget:\n  url: {srv.url}\nserver:\n  hz: 19\n")
    sent: list[str] = []
    original = Connection.send_packed_command

    def counting(self, command, check_health=True):
        parts = command if isinstance(command, list) else [command]
        sent.append(b"".join(bytes(p) for p in parts).decode("utf-8", "replace"))
        return original(self, command, check_health)

    watcher = srv.client()
    watcher.config_resetstat()
    monkeypatch.setattr(Connection, "send_packed_command", counting)
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    monkeypatch.undo()
    assert rc == 0, err
    assert len(sent) == 5, sent
    assert sent[2].index("SET") < sent[2].index("GET")  # the read back follows the CONFIG SET
    assert "INFO" in sent[1] and "SETNAME" in sent[1] and sent[1].index("SETNAME") < sent[1].index("LIST") < sent[1].index("INFO")  # the read follows the lock's list
    stats = watcher.info("commandstats")
    assert stats["cmdstat_client|list"]["calls"] == 3  # taking the lock, then the check before each of 2 round trips
    assert watcher.config_get("hz")["hz"] == "19"


def test_a_change_between_the_plan_and_the_lock_is_refused(redis_factory, tmp_path, capsys, monkeypatch):
    """apply plans again under the lock unless the read under the lock gives the plan
    the inputs it was made from (fleet.apply_fleet, live.same_plan_inputs): another
    client's CONFIG SET after the plan was shown makes a change the plan does not
    hold, and apply refuses before setting anything."""
    import borgconf.apply as apply_mod

    srv = redis_factory()
    admin = srv.client()
    assert admin.config_get("maxmemory-samples")["maxmemory-samples"] == "5"
    spec = write_spec(tmp_path / "s.yaml", srv.url, "server:\n  hz: 17\n  maxmemory-samples: 5\n", target_extra="persist: none")
    real = apply_mod._acquire_lock

    def someone_else_first(*args, **kwargs):
        admin.config_set("maxmemory-samples", "9")  # in sync when planned, not any more
        return real(*args, **kwargs)

    monkeypatch.setattr(apply_mod, "_acquire_lock", someone_else_first)
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1, (out, err)
    assert "the server changed since the plan was shown" in err and "maxmemory-samples: needs a change the plan does not hold" in err, err
    assert admin.config_get("hz")["hz"] == "10"  # nothing was set
