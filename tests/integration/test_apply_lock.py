"""The apply lock (borgconf.lock) on real Redis 7.0 and 8.2 (issue 9, items 7-9).

Each test shows the lock holding where the old key lock (SET NX PX 60000 on
``borgconf:apply-lock``) did not: at maxmemory with noeviction, under every
evicting policy with write load, across a stall of its holder, and that it
is free the moment its holder is killed. Every test also shows that no key
was written in any database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import redis

from borgconf.errors import LockError
from borgconf.lock import PREFIX, ApplyLock, apply_lock, parse_client_list
from cli_helpers import stopped, unread_at
from topologies import wait_until

EVICTING = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]


def keyspace(client) -> dict:
    """Keys per database, all of them (INFO keyspace lists every non-empty db)."""
    return {k: v["keys"] for k, v in client.info("keyspace").items()}


def named(client) -> list:
    return parse_client_list(client.execute_command("CLIENT", "LIST", "TYPE", "normal"))


def fill_to_oom(client) -> None:
    """Data in, then maxmemory below what is used with noeviction: every write is refused."""
    client.config_set("maxmemory-policy", "noeviction")
    pipe = client.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"fill:{i}", "x" * 10_000)
    pipe.execute()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used - 1024 * 1024))
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("one:more", "x")


HOLDER = textwrap.dedent(
    """
    import sys, redis
    from borgconf.lock import ApplyLock
    client = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
    lock = ApplyLock(client, timeout=10)
    lock.acquire()
    print("held", lock.id, flush=True)
    for line in sys.stdin:
        if line.strip() == "check":
            try:
                lock.check()
                print("still held", flush=True)
            except Exception as exc:
                print("lost:", exc, flush=True)
        elif line.strip() == "release":
            lock.release()
            print("released", flush=True)
    """
)


def start_holder(server) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(server.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )
    line = proc.stdout.readline()
    assert line.startswith("held "), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def ask(proc, command: str) -> str:
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def refused(server, timeout: float = 0.3) -> str:
    """A second contender waits ``timeout`` s and is refused; returns the message."""
    with pytest.raises(LockError) as info:
        ApplyLock(server.client(), timeout=timeout).acquire()
    assert "another borgconf apply is running" in str(info.value)
    return str(info.value)


# ---------------------------------------------------------------- basics


def test_lock_is_a_named_connection_and_writes_nothing(redis_server):
    admin = redis_server.client()
    redis_server.client(db=3).set("app", "data")
    before = keyspace(admin)
    with apply_lock(redis_server.client(), timeout=1) as lock:
        assert lock.held and lock.name.startswith(PREFIX)
        assert [(c.id, c.name) for c in named(admin)] == [(lock.id, lock.name)]
        lock.check()
        message = refused(redis_server)
        assert f"connection id {lock.id}" in message
        assert lock.client.execute_command("CLIENT", "ID") == lock.id  # commands go over the lock connection
    assert named(admin) == []  # released: no named connection left
    assert keyspace(admin) == before == {"db3": 1}
    assert ApplyLock(redis_server.client(), timeout=0).acquire()  # free again at once


def test_a_read_sent_with_the_lock_counts_only_when_the_lock_was_free(redis_server):
    """apply sends its read under the lock in the round trip that takes the lock
    (ApplyLock.prefetch): its replies count only when that round trip's CLIENT
    LIST showed the lock free; a contender that had to wait reads again."""
    admin = redis_server.client()
    admin.config_set("hz", "13")
    alone = ApplyLock(redis_server.client(), timeout=5)
    alone.prefetch = [("CONFIG", "GET", "h[z]")]
    assert alone.acquire()
    assert alone.prefetched is not None and dict(alone.prefetched[0]) == {"hz": "13"}
    alone.release()

    waiting = redis_server.client()
    waiting.ping()  # its connection is older than the holder's: the waiter keeps its name and goes next
    holder = ApplyLock(redis_server.client(), timeout=0)
    assert holder.acquire()
    waiter = ApplyLock(waiting, timeout=5, poll=0.02)
    waiter.prefetch = [("CONFIG", "GET", "h[z]")]
    got = []
    thread = threading.Thread(target=lambda: got.append(waiter.acquire()))
    thread.start()
    # the waiter's first round trip (its name, CLIENT LIST, the read) has run, and saw the holder
    wait_until(lambda: len(named(admin)) == 2, "the waiter named itself", timeout=5, interval=0.01)
    admin.config_set("hz", "14")  # changed while the holder holds the lock
    holder.release()
    thread.join(10)
    assert got == [True] and waiter.held
    assert waiter.id < holder.id  # (the case where the waiter kept its name while waiting)
    assert waiter.prefetched is None  # read while another held the lock: not used
    waiter.release()
    assert named(admin) == []


def test_an_older_connection_naming_itself_late_does_not_also_get_the_lock(redis_server):
    """The flaw of a bare "lowest id holds it" rule: the older connection A is
    opened first (lower id) but names itself after B concluded it was alone."""
    late = ApplyLock(redis_server.client(), timeout=0.3)
    late._open()  # A: the older connection, not named yet
    older_id = late._lc.execute_command("CLIENT", "ID")
    try:
        first = ApplyLock(redis_server.client(), timeout=1)
        assert first.acquire()  # B: newer connection, alone, holds the lock
        assert older_id < first.id
        with pytest.raises(LockError, match="another borgconf apply"):
            late._wait()  # A has the lower id, yet waits for B
        first.check()
        first.release()
        assert late._wait()  # now A goes
        late.check()
    finally:
        late.release()


def test_many_contenders_never_overlap(redis_server):
    inside, overlaps, done = [0], [], []
    guard = threading.Lock()

    def worker():
        for _ in range(8):
            with apply_lock(redis_server.client(), timeout=30) as lock:
                with guard:
                    inside[0] += 1
                    if inside[0] > 1:
                        overlaps.append(lock.id)
                time.sleep(0.005)
                lock.check()
                with guard:
                    inside[0] -= 1
            done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not overlaps and len(done) == 32
    assert named(redis_server.client()) == []


# ---------------------------------------------------------------- the faults of issue 9


def test_lock_holds_at_maxmemory_with_noeviction(redis_server):
    admin = redis_server.client()
    fill_to_oom(admin)
    before = keyspace(admin)
    with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
        admin.set("borgconf:apply-lock", "x", nx=True, px=60000)  # what the old lock did: refused
    with apply_lock(redis_server.client(), timeout=1) as lock:
        refused(redis_server)  # a second apply is refused, not let through
        with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory"):
            admin.set("still", "full")  # the server really is at maxmemory
        lock.check()
        # the holder can still change the configuration (raise maxmemory, the usual fix)
        lock.client.execute_command("CONFIG", "SET", "hz", "17")
    assert admin.config_get("hz")["hz"] == "17"
    assert keyspace(admin) == before


@pytest.mark.parametrize("policy", EVICTING)
def test_lock_holds_under_eviction_with_write_load(redis_server, policy):
    admin = redis_server.client()
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", str(used + 2 * 1024 * 1024))
    admin.config_set("maxmemory-policy", policy)
    with apply_lock(redis_server.client(), timeout=1) as lock:
        evicted = int(admin.info("stats")["evicted_keys"])
        pipe = admin.pipeline(transaction=False)
        for i in range(1500):  # ~6 MB into 2 MB: thousands of evictions
            pipe.set(f"load:{i}", "y" * 4000, ex=1 + i % 600)
            if i % 100 == 99:
                pipe.execute()
        pipe.execute()
        assert int(admin.info("stats")["evicted_keys"]) > evicted + 500
        refused(redis_server)
        lock.check()
    assert named(admin) == []
    assert not any(k.startswith("borgconf") for k in admin.scan_iter(count=1000))


def test_lock_holds_across_a_stall_of_its_holder(redis_server):
    """A holder stopped with SIGSTOP keeps the lock for as long as it is stopped:
    nothing in the lock expires (no key, no TTL). Shown over a few seconds with
    contenders that give up after 1 s; the old lock needed a 60 s stall."""
    admin = redis_server.client()
    assert admin.config_get("timeout")["timeout"] == "0"  # no idle timeout closes the connection
    holder = start_holder(redis_server)
    try:
        os.kill(holder.pid, signal.SIGSTOP)
        for _ in range(3):
            refused(redis_server, timeout=1.0)
        assert len(named(admin)) == 1
        os.kill(holder.pid, signal.SIGCONT)
        assert ask(holder, "check") == "still held"
        assert ask(holder, "release") == "released"
        assert ApplyLock(redis_server.client(), timeout=5).acquire()
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.kill()
        holder.wait()
    assert keyspace(admin) == {}


def test_kill_9_of_the_holder_frees_the_lock_at_once(redis_server):
    admin = redis_server.client()
    holder = start_holder(redis_server)
    try:
        refused(redis_server, timeout=0.2)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        # the old lock kept the next apply out for up to 60 s
        lock = ApplyLock(redis_server.client(), timeout=5)
        assert lock.acquire()
        lock.check()
        lock.release()
    finally:
        holder.kill()
        holder.wait()
    assert keyspace(admin) == {}


def test_a_killed_lock_connection_is_never_silently_reconnected(redis_server):
    admin = redis_server.client()
    lock = ApplyLock(redis_server.client(), timeout=1)
    assert lock.acquire()
    admin.client_kill_filter(_id=lock.id)
    with pytest.raises(LockError, match="lost"):
        lock.check()
    for _ in range(2):  # any later command: refused, never sent on a fresh unlocked connection
        with pytest.raises((LockError, redis.exceptions.ConnectionError)):
            lock.client.execute_command("CONFIG", "SET", "hz", "23")
    assert admin.config_get("hz")["hz"] == "10"
    assert named(admin) == []
    other = ApplyLock(redis_server.client(), timeout=1)
    assert other.acquire()  # the lock is free once its connection is gone
    other.release()
    lock.release()


def _rename_lock_connection(lock, *commands) -> None:
    """Commands sent over the lock's own connection, behind the lock's back (a
    connection can rename only itself): after them CLIENT LIST ID shows what they did."""
    from borgconf.wire import round_trip

    replies = round_trip(lock._lc, list(commands), lock._conn)
    for r in replies:
        if isinstance(r, redis.exceptions.ResponseError):
            pytest.skip(f"this server refuses {commands}: {r}")


@pytest.mark.parametrize("how", ["renamed", "cleared", "only-as-lib-name"])
def test_the_lock_is_lost_once_its_connection_no_longer_carries_its_name(redis_server, how):
    """ApplyLock._checked, before every command apply sends under the lock, asks CLIENT
    LIST ID in the same round trip: the real server's line for the lock connection must
    carry the lock's name. Its connection renamed, its name cleared, or the name left
    only as another field's value (CLIENT SETINFO LIB-NAME, Redis 7.2+ and Valkey):
    the lock is lost, and nothing more is sent. (The command of that round trip ran:
    only the lock's owner can rename its connection, see lock.py's docstring.)"""
    admin = redis_server.client()
    lock = ApplyLock(redis_server.client(), timeout=1)
    assert lock.acquire()
    try:
        assert lock.call("CONFIG", "GET", "hz") is not None  # held: the command runs
        if how == "renamed":
            _rename_lock_connection(lock, ("CLIENT", "SETNAME", PREFIX + "someone-else"))
        elif how == "cleared":
            _rename_lock_connection(lock, ("CLIENT", "SETNAME", ""))
        else:
            _rename_lock_connection(lock, ("CLIENT", "SETNAME", ""), ("CLIENT", "SETINFO", "LIB-NAME", lock.name))
        with pytest.raises(LockError, match="was lost"):
            lock.call("CONFIG", "SET", "hz", "23")
        assert not lock.held
        with pytest.raises(LockError, match="was lost"):
            lock.call("CONFIG", "SET", "hz", "24")
        assert admin.config_get("hz")["hz"] == "23"  # the second was never sent
    finally:
        lock.release()


def test_a_user_without_client_permissions_gets_a_clear_error(redis_server):
    admin = redis_server.client()
    admin.execute_command("ACL", "SETUSER", "limited", "on", ">pw-limited", "~*", "+@all", "-client")
    client = redis_server.client(username="limited", password="pw-limited")
    with pytest.raises(LockError) as info:
        ApplyLock(client, timeout=0.5).acquire()
    assert "+client|setname +client|list" in str(info.value) and "limited" in str(info.value)
    # only an explicit required=False goes on without the lock
    lock = ApplyLock(client, timeout=0.5, required=False)
    assert lock.acquire() is False and not lock.held and lock.client is None
    with pytest.raises(LockError):
        lock.check()
    assert named(admin) == []


# ---------------------------------------------------------------- two real applies (CLI processes)


def _apply(spec, lock_timeout: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "borgconf", "apply", "--auto-approve", "--lock-timeout", lock_timeout, str(spec)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL,
    )


def _stop_while_holding(proc, admin) -> bool:
    """SIGSTOP ``proc`` as soon as its lock connection is named; True when it was
    stopped still holding it (not yet released), False when it got through first."""
    end = time.monotonic() + 30
    while time.monotonic() < end and proc.poll() is None:
        holders = named(admin)
        if holders:
            os.kill(proc.pid, signal.SIGSTOP)
            # it may run on for a moment, and a command it sent just before (the release's
            # CLIENT SETNAME "") may not have been read yet: once it is stopped and the
            # server has read all the lock connection sent, the list says who holds the lock
            stopped(proc.pid)
            port = admin.connection_pool.connection_kwargs["port"]
            lock_port = int(holders[0].addr.rsplit(":", 1)[1])
            deadline = time.monotonic() + 5
            while lock_port in unread_at(port):
                assert time.monotonic() < deadline, "the server did not read what the stopped apply had sent"
                time.sleep(0.001)
            return bool(named(admin))
        time.sleep(0.001)
    return False


def _write_load(server, stop: threading.Event) -> None:
    client = server.client()
    i = 0
    while not stop.is_set():
        pipe = client.pipeline(transaction=False)
        for _ in range(50):
            pipe.set(f"w:{i}", "z" * 2000, ex=1 + i % 300)
            i += 1
        try:
            pipe.execute()
        except redis.exceptions.ResponseError:
            pass  # OOM under noeviction: the load goes on trying


@pytest.mark.parametrize("fault", ["oom-noeviction", "volatile-ttl-with-writes", "stall"])
def test_an_apply_stopped_past_the_lock_keeps_the_second_one_out(redis_server, tmp_path, fault):
    """Issue 9: apply A is stopped (SIGSTOP) while it holds the lock; apply B
    gives up instead of running alongside; A then finishes; B runs after it.
    Live values and the config file equal exactly B's spec, nothing is undone,
    and after a restart from the config file B plans nothing."""
    from cli_helpers import write_spec

    admin = redis_server.client()
    specs = {
        "a": write_spec(tmp_path / "a.yaml", redis_server.url, "server:\n  hz: 21\n  maxmemory-samples: 7\n"),
        "b": write_spec(tmp_path / "b.yaml", redis_server.url, "server:\n  hz: 31\n  maxmemory-samples: 9\n"),
    }
    stop = threading.Event()
    load = None
    if fault == "oom-noeviction":
        fill_to_oom(admin)
    elif fault == "volatile-ttl-with-writes":
        used = int(admin.info("memory")["used_memory"])
        admin.config_set("maxmemory", str(used + 2 * 1024 * 1024))
        admin.config_set("maxmemory-policy", "volatile-ttl")
        load = threading.Thread(target=_write_load, args=(redis_server, stop), daemon=True)
        load.start()
    admin.config_rewrite()
    baseline = {k: admin.config_get(k)[k] for k in ("hz", "maxmemory-samples")}
    evicted = int(admin.info("stats")["evicted_keys"])
    try:
        caught = False
        for _ in range(10):  # A may get through before it is caught holding the lock: try again
            for k, v in baseline.items():
                admin.config_set(k, v)
            admin.config_rewrite()
            a = _apply(specs["a"], "20")
            if _stop_while_holding(a, admin):
                caught = True
                break
            if a.poll() is None:  # stopped after it let go; when it already ended, poll() reaped it: no pid to signal
                os.kill(a.pid, signal.SIGCONT)
            a.communicate(timeout=60)
        assert caught, "apply A never caught holding the lock"
        try:
            for _ in range(3 if fault == "stall" else 1):  # a few seconds of stall; no TTL runs out
                b = _apply(specs["b"], "1")
                rc_b, out_b, err_b = b.wait(timeout=60), *b.communicate()
                assert rc_b == 1 and "another borgconf apply is running" in err_b, (rc_b, out_b, err_b)
        finally:
            os.kill(a.pid, signal.SIGCONT)
        out_a, err_a = a.communicate(timeout=60)
        assert a.returncode == 0, (out_a, err_a)
        assert admin.config_get("hz")["hz"] == "21"  # A's apply is whole
        b = _apply(specs["b"], "20")
        out_b, err_b = b.communicate(timeout=60)
        assert b.returncode == 0, (out_b, err_b)
    finally:
        stop.set()
        if load is not None:
            load.join(timeout=10)
    live = {k: admin.config_get(k)[k] for k in ("hz", "maxmemory-samples")}
    assert live == {"hz": "31", "maxmemory-samples": "9"}
    conf = redis_server.config_path.read_text()
    assert "hz 31\n" in conf and "maxmemory-samples 9\n" in conf
    if fault == "volatile-ttl-with-writes":
        assert int(admin.info("stats")["evicted_keys"]) > evicted  # eviction really ran meanwhile
    assert named(admin) == []
    assert not any(k.startswith("borgconf") for k in admin.scan_iter(count=1000))
    redis_server.restart()
    admin = redis_server.client()
    assert {k: admin.config_get(k)[k] for k in ("hz", "maxmemory-samples")} == live
    plan = subprocess.run([sys.executable, "-m", "borgconf", "plan", "--detailed-exitcode", str(specs["b"])],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=60)
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_lock_lost_mid_apply_stops_it_and_never_rolls_back_over_another_apply(redis_server, tmp_path, capsys, monkeypatch):
    """The lock connection dies after CONFIG SET (an operator's CLIENT KILL, the
    server's idle timeout); another apply takes the lock at once and sets its
    own value; then this apply's persist step fails. Its rollback must not run:
    it would revert a value that is no longer the one this apply set."""
    import borgconf.render as R
    from cli_helpers import run, write_spec

    admin = redis_server.client()

    def writer(spec, *, total_memory=None):
        def write(total=None):
            for c in named(admin):
                admin.client_kill_filter(_id=c.id)
            with apply_lock(redis_server.client(), timeout=2) as other:
                other.client.execute_command("CONFIG", "SET", "hz", "33")
            raise OSError("disk full")

        return write

    monkeypatch.setattr(R, "persist_file_writer", writer)
    spec = write_spec(tmp_path / "s.yaml", redis_server.url, "server:\n  hz: 21\nrender:\n  redis_conf: conf/redis.conf\n",
                      target_extra="persist: file")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 1, out + err
    assert "disk full" in err and "ALSO failed" in err and "apply lock" in err and "was lost" in err, err
    assert admin.config_get("hz")["hz"] == "33"  # the other apply's value stands
    assert named(admin) == [] and admin.info("keyspace") == {}
