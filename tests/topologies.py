"""Real Redis topologies on loopback for borgconf's fleet tests (issue 12).

Plain library (no pytest import), built on :mod:`redis_servers` (binaries,
free ports, real config files in temp dirs, stop by PID) without changing it::

    from redis_servers import find_binaries
    from topologies import ReplicationTopology, ClusterTopology, SentinelTopology
    with ReplicationTopology(find_binaries()["8.2"], "/tmp/rep") as topo:
        print(topo.primary.port, [s.port for s in topo.replicas])

* :class:`ReplicationTopology` -- a primary, a replica of it, and a chained
  replica (replica of that replica);
* :class:`ClusterTopology` -- a Redis Cluster of three primaries with one
  replica each, created with ``redis-cli --cluster create ... --cluster-replicas 1
  --cluster-yes`` (``cluster-node-timeout`` short, so a killed node is marked
  failed within seconds);
* :class:`SentinelTopology` -- a primary, a replica and a Sentinel
  (``redis-server sentinel.conf --sentinel``) watching them as ``mymaster``.

Every process is a :class:`redis_servers.RedisServer` (so the ``atexit`` hook
of that module kills leftovers); ``stop()`` stops them all by PID. Each
``wait_*`` polls with a bound and raises :class:`TopologyError` with what it
saw last, never hangs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import redis

from redis_servers import RedisServer, RedisServerError, _free_port, _quote

__all__ = [
    "TopologyError",
    "ReplicationTopology",
    "ClusterTopology",
    "SentinelTopology",
    "redis_cli",
    "wait_until",
    "SENTINEL_MASTER",
]

READY_TIMEOUT = 30.0  # seconds for links to come up / a cluster to settle
SENTINEL_MASTER = "mymaster"


class TopologyError(RedisServerError):
    """A topology could not be built or did not settle in time."""


def wait_until(check: Callable[[], object], what: str, timeout: float = READY_TIMEOUT, interval: float = 0.05):
    """Call ``check`` until it returns a true value (returned); raise after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # a node still starting, a link still down
            last = exc
        if time.monotonic() > deadline:
            raise TopologyError(f"{what}: not within {timeout:.0f}s (last: {last!r})")
        time.sleep(interval)


def redis_cli() -> str:
    """Path of ``redis-cli`` (Debian's redis-tools; BORGCONF_REDIS_CLI overrides)."""
    path = os.environ.get("BORGCONF_REDIS_CLI") or shutil.which("redis-cli") or "/usr/bin/redis-cli"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise TopologyError("redis-cli not found: install Debian's redis-tools (it comes with redis-server)")
    return path


def _link_up(server: RedisServer) -> bool:
    with server.client(socket_timeout=2.0) as c:
        info = c.info("replication")
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def _connected_replicas(server: RedisServer) -> int:
    """Replicas the server lists as ``online`` (a replica whose link is already
    up may still be listed as ``wait_bgsave`` / ``send_bulk`` for a moment)."""
    with server.client(socket_timeout=2.0) as c:
        info = c.info("replication")
    return sum(1 for k, v in info.items() if k.startswith("slave") and k[5:].isdigit() and isinstance(v, dict) and v.get("state") == "online")


class _Topology:
    """Common start/stop/context-manager plumbing."""

    def __init__(self, binary: str, tmpdir: str | os.PathLike[str], *, password: str | None = None) -> None:
        self.binary = str(binary)
        self.tmpdir = Path(tmpdir).resolve()
        self.password = password  # requirepass and masterauth of every Redis node
        self.servers: list[RedisServer] = []

    def _server(self, name: str, config_lines=(), **kw) -> RedisServer:
        # no 5 s wait before a diskless full sync (the default delay of Redis 7.0+)
        lines = ["repl-diskless-sync-delay 0", *config_lines]
        if self.password is not None:
            lines.append(f"masterauth {_quote(self.password)}")
            kw.setdefault("password", self.password)
        srv = RedisServer(self.binary, self.tmpdir / name, lines, **kw)
        self.servers.append(srv)
        srv.start()
        return srv

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        """Stop every process by PID (reverse start order)."""
        for srv in reversed(self.servers):
            try:
                srv.stop()
            except Exception:
                pass

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class ReplicationTopology(_Topology):
    """primary <- replica <- chained (a replica of the replica).

    ``password``: requirepass and masterauth on every node (clients of
    ``server.client()`` use it)."""

    primary: RedisServer
    replica: RedisServer
    chained: RedisServer

    def start(self) -> "ReplicationTopology":
        self.primary = self._server("primary")
        self.replica = self._server("replica", [f"replicaof 127.0.0.1 {self.primary.port}"])
        self.chained = self._server("chained", [f"replicaof 127.0.0.1 {self.replica.port}"])
        wait_until(lambda: _link_up(self.replica), f"replica {self.replica.port} linked to {self.primary.port}")
        wait_until(lambda: _link_up(self.chained), f"chained replica {self.chained.port} linked to {self.replica.port}")
        wait_until(lambda: _connected_replicas(self.primary) == 1, "primary sees its replica")
        wait_until(lambda: _connected_replicas(self.replica) == 1, "replica sees the chained replica")
        return self

    @property
    def replicas(self) -> list[RedisServer]:
        return [self.replica, self.chained]

    def expected_roles(self) -> dict[str, tuple[str, str | None]]:
        """address -> (role, address of its primary)."""
        p, r, c = (f"127.0.0.1:{s.port}" for s in (self.primary, self.replica, self.chained))
        return {p: ("primary", None), r: ("replica", p), c: ("replica", r)}


class ClusterTopology(_Topology):
    """Three primaries with one replica each, created by ``redis-cli --cluster create``."""

    def __init__(self, binary: str, tmpdir, *, node_timeout_ms: int = 2000, masters: int = 3, password: str | None = None) -> None:
        super().__init__(binary, tmpdir, password=password)
        self.node_timeout_ms = node_timeout_ms
        self.masters = masters

    def start(self) -> "ClusterTopology":
        lines = [
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            f"cluster-node-timeout {self.node_timeout_ms}",
            "cluster-require-full-coverage no",
        ]
        for i in range(self.masters * 2):
            self._cluster_node(f"node{i}", lines)
        addrs = [f"127.0.0.1:{s.port}" for s in self.servers]
        env = {k: v for k, v in os.environ.items() if k not in ("REDISCLI_AUTH",)}
        if self.password is not None:
            env["REDISCLI_AUTH"] = self.password  # not -a: argv is visible to every user
        proc = subprocess.run(
            [redis_cli(), "--cluster", "create", *addrs, "--cluster-replicas", "1", "--cluster-yes"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        if proc.returncode != 0 or "[OK] All 16384 slots covered" not in proc.stdout:
            raise TopologyError(f"redis-cli --cluster create failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-1000:]}")
        self.create_output = proc.stdout
        wait_until(self._settled, "cluster settled (state ok, every node knows 6 nodes, replicas linked)")
        return self

    def _cluster_node(self, name: str, lines: list[str]) -> RedisServer:
        # the bus port defaults to port + 10000, and a free port above 55535
        # (which the OS hands out) is refused: give each node its own bus port
        last: Exception | None = None
        for attempt in range(3):
            try:
                return self._server(f"{name}" if attempt == 0 else f"{name}-{attempt}", [*lines, f"cluster-port {_free_port()}"])
            except RedisServerError as exc:  # the bus port was taken meanwhile
                self.servers.pop()
                last = exc
        raise TopologyError(f"cluster node {name} did not start: {last}")

    def _settled(self) -> bool:
        for srv in self.servers:
            with srv.client(socket_timeout=2.0) as c:
                if c.execute_command("CLUSTER", "INFO").find("cluster_state:ok") < 0:
                    return False
                nodes = c.execute_command("CLUSTER", "NODES")
                lines = [ln for ln in str(nodes).splitlines() if ln.strip()]
                if len(lines) != len(self.servers):
                    return False
                flags = [ln.split()[2].split(",") for ln in lines]
                if any(f in fl for fl in flags for f in ("handshake", "noaddr", "fail", "fail?")):
                    return False
                # every node's own view agrees on who is a replica (gossip has
                # reached it): right after --cluster create a node may still
                # see a replica as a primary without slots
                if sum("slave" in fl for fl in flags) != self.masters or sum("master" in fl for fl in flags) != self.masters:
                    return False
                # ... and on whose replica each one is: a replica line names a primary's node id
                masters = {ln.split()[0] for ln, fl in zip(lines, flags) if "master" in fl}
                if any(ln.split()[3] not in masters for ln, fl in zip(lines, flags) if "slave" in fl):
                    return False
                if not self._shards_settled(c):
                    return False
                info = c.info("replication")
                if info.get("role") == "slave" and info.get("master_link_status") != "up":
                    return False
        return True

    def _shards_settled(self, c) -> bool:
        """CLUSTER SHARDS (7.0+) agrees too: every shard has one primary and one replica
        (a node may list a new replica in a shard of its own for a moment)."""
        try:
            shards = c.execute_command("CLUSTER", "SHARDS")
        except redis.ResponseError:  # before 7.0 (unknown subcommand): CLUSTER NODES alone
            return True

        def as_map(x):
            if isinstance(x, dict):
                return x
            it = iter(x or [])
            return {str(k): v for k, v in zip(it, it)}

        roles = [sorted(str(as_map(n).get("role")) for n in as_map(sh).get("nodes", [])) for sh in shards or []]
        return len(roles) == self.masters and all(r == ["master", "replica"] for r in roles)

    def roles(self) -> dict[str, tuple[str, str | None]]:
        """address -> (role, address of its primary), as the nodes say in INFO replication."""
        out: dict[str, tuple[str, str | None]] = {}
        for srv in self.servers:
            if not srv.running:
                continue
            with srv.client(socket_timeout=2.0) as c:
                info = c.info("replication")
            addr = f"127.0.0.1:{srv.port}"
            if info["role"] == "master":
                out[addr] = ("primary", None)
            else:
                out[addr] = ("replica", f"{info['master_host']}:{info['master_port']}")
        return out

    def server_at(self, address: str) -> RedisServer:
        return next(s for s in self.servers if f"127.0.0.1:{s.port}" == address)


class SentinelTopology(_Topology):
    """A primary, one replica, and a Sentinel monitoring them as ``mymaster``."""

    def __init__(self, binary: str, tmpdir, *, down_after_ms: int = 1000, name: str = SENTINEL_MASTER, password: str | None = None) -> None:
        super().__init__(binary, tmpdir, password=password)
        self.down_after_ms = down_after_ms
        self.name = name

    primary: RedisServer
    replica: RedisServer
    sentinel: RedisServer

    def start(self) -> "SentinelTopology":
        self.primary = self._server("primary")
        self.replica = self._server("replica", [f"replicaof 127.0.0.1 {self.primary.port}"])
        wait_until(lambda: _link_up(self.replica), "replica linked")
        sdir = self.tmpdir / "sentinel"
        sdir.mkdir(parents=True, exist_ok=True)
        conf = sdir / "sentinel.conf"
        conf.write_text(
            "# written by tests/topologies.py (Sentinel rewrites this file)\n"
            f"sentinel monitor {self.name} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.name} 10000\n"
            + (f"sentinel auth-pass {self.name} {_quote(self.password)}\n" if self.password is not None else "")
        )
        conf.chmod(0o600)
        # RedisServer puts port/bind/dir/logfile/pidfile after the file; "sentinel" -> --sentinel
        srv = RedisServer(self.binary, sdir, ["sentinel"], config_file=conf)
        self.servers.append(srv)
        srv.start()
        self.sentinel = srv
        wait_until(self._sentinel_sees_replica, "Sentinel found the replica")
        return self

    def _sentinel_sees_replica(self) -> bool:
        with self.sentinel.client(socket_timeout=2.0) as c:
            reps = c.execute_command("SENTINEL", "REPLICAS", self.name)
        for rep in reps or []:
            d = rep if isinstance(rep, dict) else dict(zip(rep[::2], rep[1::2]))  # RESP3 map / RESP2 list
            if d.get("port") == str(self.replica.port) and d.get("flags") == "slave" and d.get("master-link-status") == "ok":
                return True
        return False

    def expected_roles(self) -> dict[str, tuple[str, str | None]]:
        p, r = (f"127.0.0.1:{s.port}" for s in (self.primary, self.replica))
        return {p: ("primary", None), r: ("replica", p)}
