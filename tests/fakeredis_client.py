"""A small hand-written stand-in for a redis-py client, for pure unit tests of apply.

It answers the few commands borgconf sends (CONFIG GET/SET/REWRITE, INFO, ACL
GETUSER/SETUSER/DELUSER/LIST/SAVE, the lock's SET NX / WATCH / GET / DEL) from
plain dicts, records every call, and fails a command on demand, so every
rollback branch of apply can be driven without a server. It is not redis-py
and not fakeredis: behaviour that depends on Redis is tested against real
servers (tests/integration); this is the seam for the steps in between.

    fake = FakeRedis()
    fake.fail("CONFIG REWRITE", times=2)   # the next two REWRITEs fail
    fake.fail("CONFIG SET", after=1)       # the first SET works, the second (the restore) fails
    fake.clamp("hz", "20", "19")           # CONFIG SET hz 20 keeps 19 (a server that clamps)
    fake.fail("CONFIG SET", error=rx.TimeoutError("Timeout reading from socket"), applied=True)  # ran, reply lost
"""

from __future__ import annotations

import hashlib
from typing import Any

import redis.exceptions as rx

from facts import load


class FakeLock:
    """Stands in for borgconf.lock.ApplyLock (which needs a redis-py connection
    pool): records on the fake whether the apply lock is held."""

    def __init__(self, client: "FakeRedis", *, timeout: float = 10.0, required: bool = True, address: str | None = None):
        self.fake = client
        self.client = client
        self.held = False
        self.prefetch: list[tuple] = []  # as ApplyLock: sent with the acquiring round trip
        self.prefetched: list | None = None

    def acquire(self) -> bool:
        if self.fake.lock_held:
            from borgconf.errors import LockError

            raise LockError(f"another borgconf apply is running on {self.fake.borgconf_address}")
        self.fake.lock_held = self.held = True
        self.fake.calls.append(("LOCK", "ACQUIRE"))
        if self.prefetch:  # the read under the lock, as ApplyLock sends it after its CLIENT LIST
            self.prefetched = [self._reply(args) for args in self.prefetch]
        return True

    def check(self) -> None:
        assert self.held, "a command was sent without the apply lock"

    def call(self, *args):
        """As ApplyLock.call: the command goes only while the lock is held."""
        self.check()
        return self.fake.execute_command(*args)

    def call_then(self, args: tuple, *then: tuple):
        """As ApplyLock.call_then: ``args``'s error raised, those of ``then`` in place."""
        reply = self.call(*args)
        return reply, [self._reply(t) for t in then]

    def _reply(self, args: tuple):
        try:
            return self.fake.execute_command(*args)
        except rx.RedisError as exc:
            return exc

    def release(self) -> None:
        if self.held:
            self.fake.lock_held = self.held = False
            self.fake.calls.append(("LOCK", "RELEASE"))


class FakeRedis:
    def __init__(self, config: dict[str, str] | None = None, *, config_file: str = "/etc/redis/redis.conf", run_id: str = "f" * 40, total_memory: int = 8 * 1024**3, used_memory: int = 1024**2, keyspace: dict[int, int] | None = None):
        self.config: dict[str, str] = dict(load("redis-7.0", "config-get.json"))
        self.config.update(config or {})
        self.file: dict[str, str] = dict(self.config)  # what CONFIG REWRITE last wrote
        self.config_file = config_file
        self.run_id = run_id
        self.total_memory = total_memory
        self.used_memory = used_memory
        self.keyspace = dict(keyspace or {})
        self.keys: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.acl_saved: dict[str, dict[str, Any]] = {}  # what ACL SAVE last wrote
        self._clamps: dict[tuple[str, str], str] = {}  # (name, value set) -> value kept
        self.calls: list[tuple[str, ...]] = []
        self._failing: dict[str, list[Exception | None]] = {}
        self.borgconf_address = "fake:6379"
        self.lock_held = False

    # --- faults -------------------------------------------------------------
    def fail(self, command: str, times: int = 1, error: Exception | None = None, *, after: int = 0, applied: bool = False) -> None:
        """After ``after`` calls that succeed, the next ``times`` calls of ``command``
        ("CONFIG REWRITE", "ACL SAVE", "ACL SETUSER", ...) fail. With ``applied`` the
        command takes effect first (a reply lost to a timeout)."""
        outcomes = self._failing.setdefault(command.upper(), [])
        error = error or rx.ResponseError(f"ERR {command} failed (injected)")
        outcomes.extend([None] * after + [(error, applied)] * times)

    def clamp(self, name: str, given: str, kept: str) -> None:
        """CONFIG SET ``name`` ``given`` keeps ``kept`` instead."""
        self._clamps[(name, given)] = kept

    def called(self, command: str) -> int:
        return sum(1 for c in self.calls if " ".join(c[: len(command.split())]).upper() == command.upper())

    # --- redis-py surface used by borgconf ----------------------------------
    def execute_command(self, *args: Any) -> Any:
        args = tuple(str(a) for a in args)
        self.calls.append(args)
        for n in (2, 1):
            outcomes = self._failing.get(" ".join(args[:n]).upper())
            if outcomes:
                outcome = outcomes.pop(0)
                if outcome is not None:
                    error, applied = outcome
                    if applied:
                        self._run(args)
                    raise error
                break
        return self._run(args)

    def _run(self, args: tuple[str, ...]) -> Any:
        cmd = args[0].upper()
        sub = args[1].upper() if len(args) > 1 else ""
        if cmd == "CONFIG":
            return self._config(sub, args[2:])
        if cmd == "INFO":
            return self._info()
        if cmd == "ACL":
            return self._acl(sub, args[2:])
        raise rx.ResponseError(f"ERR unknown command '{args[0]}' (fake)")

    def set(self, key: str, value: str, nx: bool = False, px: int | None = None) -> bool | None:
        self.calls.append(("SET", key))
        if nx and key in self.keys:
            return None
        self.keys[key] = value
        return True

    def pipeline(self, transaction: bool = True) -> "_Pipeline":
        return _Pipeline(self)

    # --- commands -------------------------------------------------------------
    def _config(self, sub: str, rest: tuple[str, ...]) -> Any:
        if sub == "GET":
            names = self.config if rest == ("*",) else [n for n in rest if n in self.config]
            out: list[str] = []
            for n in names:
                out += [n, self.config[n]]
            return out
        if sub == "SET":
            pairs = dict(zip(rest[::2], rest[1::2]))
            unknown = [n for n in pairs if n not in self.config]
            if unknown:  # all or nothing, as on Redis 7+
                raise rx.ResponseError(f"ERR Unknown option or number of arguments for CONFIG SET - '{unknown[0]}'")
            self.config.update({n: self._clamps.get((n, v), v) for n, v in pairs.items()})
            return "OK"
        if sub == "REWRITE":
            if not self.config_file:
                raise rx.ResponseError("ERR The server is running without a config file")
            self.file = dict(self.config)
            return "OK"
        raise rx.ResponseError(f"ERR unknown CONFIG subcommand {sub} (fake)")

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "redis_version": "7.0.15", "run_id": self.run_id, "config_file": self.config_file,
            "total_system_memory": self.total_memory, "used_memory": self.used_memory, "redis_mode": "standalone",
        }
        info.update({f"db{db}": {"keys": n} for db, n in self.keyspace.items()})
        return info

    def _acl(self, sub: str, rest: tuple[str, ...]) -> Any:
        if sub == "SETUSER":
            name, rules = rest[0], rest[1:]
            user = self.users.get(name) or _new_user()
            for rule in rules:
                _apply_rule(user, rule)
            self.users[name] = user
            return "OK"
        if sub == "DELUSER":
            return sum(1 for n in rest if self.users.pop(n, None) is not None)
        if sub == "GETUSER":
            u = self.users.get(rest[0])
            if u is None:
                return None
            return [
                "flags", ["on" if u["on"] else "off", *(["nopass"] if u["nopass"] else [])],
                "passwords", sorted(u["hashes"]),
                "commands", " ".join(["-@all", *u["commands"]]),
                "keys", " ".join(u["keys"]),
                "channels", " ".join(u["channels"]),
                "selectors", [],
            ]
        if sub == "LIST":
            return [f"user {n} {_acl_line(u)}" for n, u in sorted(self.users.items())]
        if sub == "SAVE":
            self.acl_saved = {n: {**u, "hashes": set(u["hashes"])} for n, u in self.users.items()}
            return "OK"
        raise rx.ResponseError(f"ERR unknown ACL subcommand {sub} (fake)")


def _new_user() -> dict[str, Any]:
    return {"on": False, "hashes": set(), "nopass": False, "keys": [], "channels": [], "commands": []}


def _apply_rule(u: dict[str, Any], rule: str) -> None:
    if rule == "reset":
        u.update(_new_user())
    elif rule == "resetchannels":
        u["channels"] = []
    elif rule in ("on", "off"):
        u["on"] = rule == "on"
    elif rule == "nopass":
        u["nopass"], u["hashes"] = True, set()
    elif rule.startswith(">"):
        u["hashes"].add(hashlib.sha256(rule[1:].encode()).hexdigest())
    elif rule.startswith("<"):
        u["hashes"].discard(hashlib.sha256(rule[1:].encode()).hexdigest())
    elif rule.startswith("#"):
        u["hashes"].add(rule[1:])
    elif rule.startswith(("~", "%")):
        u["keys"].append(rule)
    elif rule.startswith("&"):
        u["channels"].append(rule)
    elif rule == "-@all":
        u["commands"] = []
    elif rule.startswith(("+", "-")):
        u["commands"].append(rule)
    elif rule == "sanitize-payload":
        pass
    else:
        raise rx.ResponseError(f"ERR Error in ACL SETUSER modifier '{rule}': Syntax error")


def _acl_line(u: dict[str, Any]) -> str:
    parts = ["on" if u["on"] else "off", *(f"#{h}" for h in sorted(u["hashes"]))]
    parts += ["nopass"] if u["nopass"] else []
    parts += u["keys"] + (u["channels"] or ["resetchannels"]) + ["-@all", *u["commands"]]
    return " ".join(parts)


class _Pipeline:
    """Queued commands (read_state) and the lock's WATCH / GET / MULTI / DEL."""

    def __init__(self, fake: FakeRedis):
        self.fake = fake
        self.queued: list[tuple[Any, ...]] = []

    def __enter__(self) -> "_Pipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.queued.clear()

    def execute_command(self, *args: Any) -> "_Pipeline":
        self.queued.append(args)
        return self

    def watch(self, *keys: str) -> None:
        pass

    def get(self, key: str) -> str | None:
        return self.fake.keys.get(key)

    def multi(self) -> None:
        pass

    def delete(self, key: str) -> "_Pipeline":
        self.queued.append(("__DEL__", key))
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        out = []
        for args in self.queued:
            if args[0] == "__DEL__":
                out.append(1 if self.fake.keys.pop(args[1], None) is not None else 0)
                continue
            try:
                out.append(self.fake.execute_command(*args))
            except rx.ResponseError as exc:  # as redis-py: an error reply in its place, unless asked to raise
                if raise_on_error:
                    raise
                out.append(exc)
        self.queued.clear()
        return out
