"""Facts about fleets: which nodes a target's topology has, and what role each plays.

``discover:`` on a target (product.md §6, issue 12) names how its nodes are found:

* ``replicas`` -- the primary's replicas from ``INFO replication``
  (``slaveN:ip=,port=,state=,offset=,lag=``), recursively for chained replicas;
* ``cluster`` -- every node of a Redis Cluster from ``CLUSTER SHARDS`` (7.0+),
  falling back to ``CLUSTER NODES``; failed nodes are reported, not dropped;
* ``sentinel`` -- the target is a Sentinel: the master from
  ``SENTINEL GET-MASTER-ADDR-BY-NAME`` and the replicas from
  ``SENTINEL REPLICAS``. The Sentinel itself is never a node to CONFIG SET.

Like ``live.py`` this layer only reads. Parsing is separated from talking:
the ``parse_*`` functions are pure and tested from replies captured from real
topologies (``tests/cases/discovery/``); the reading layer (:func:`discover`,
:func:`health_problems`) takes a ``connect(host, port)`` callable that returns
a redis-py client (``decode_responses=True``; RESP2 or RESP3 replies are both
understood), so authentication and TLS stay the caller's.

Everything a server says about *other* servers (addresses, flags) is treated
as hostile until checked: a host with spaces or control characters, or a port
outside 1..65535, is reported as a problem, never connected to.

Also here, pure:

* the health gate of a rolling apply (:func:`gate_replica_link`,
  :func:`gate_cluster_state`, :func:`gate_ping`);
* which parameters a topology owns (:func:`owned_by_topology`) and which a
  replication group must share (:data:`GROUP_SHARED_PARAMS`,
  :func:`group_shared_problems`).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .errors import BorgconfError
from .records import field, record

__all__ = [
    "Node",
    "ReplicaLink",
    "Replication",
    "DiscoveryError",
    "DISCOVER_MODES",
    "format_address",
    "split_address",
    "parse_info_text",
    "info_fields",
    "is_sentinel",
    "parse_replication",
    "parse_cluster_shards",
    "parse_cluster_nodes",
    "merge_cluster_flags",
    "parse_cluster_info",
    "parse_sentinel_master_addr",
    "parse_sentinel_master",
    "parse_sentinel_replicas",
    "discover",
    "discover_replicas",
    "discover_cluster",
    "discover_sentinel",
    "gate_replica_link",
    "gate_cluster_state",
    "gate_ping",
    "health_problems",
    "owned_by_topology",
    "GROUP_SHARED_PARAMS",
    "shared_in_group",
    "group_shared_problems",
]

DISCOVER_MODES = ("replicas", "cluster", "sentinel")
MAX_NODES = 1000  # a topology bigger than this is refused, not walked (a hostile or looping reply)


class DiscoveryError(BorgconfError):
    """A topology could not be discovered from a target (unreachable seed,
    a Sentinel where a Redis was expected or the other way round, an unknown
    Sentinel master name)."""


@record
class Node:
    """One server of a target's topology."""

    address: str  # "host:port" ("[::1]:port" for IPv6)
    host: str
    port: int
    role: str  # "primary" | "replica"
    managed_by: str | None = None  # None | "cluster" | "sentinel"
    primary: str | None = None  # address of its primary (replicas only, when known)
    healthy: bool = True
    problem: str | None = None  # why it is not healthy (None when healthy)
    node_id: str | None = None  # Redis Cluster node id (cluster only)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "role": self.role,
            "managed_by": self.managed_by,
            "primary": self.primary,
            "healthy": self.healthy,
            "problem": self.problem,
        }


# --------------------------------------------------------------------------
# addresses (hostile until checked)
# --------------------------------------------------------------------------

_HOST_RE = re.compile(r"^[A-Za-z0-9_.:%-]{1,253}$")


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_host_port(host: Any, port: Any) -> tuple[str, int] | str:
    """``(host, port)`` when both are plausible, else a problem string."""
    host = "" if host is None else str(host)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not _HOST_RE.match(host):
        return f"the server reported an unusable host {host[:64]!r}"
    try:
        p = int(str(port))
    except (TypeError, ValueError):
        return f"the server reported an unusable port {str(port)[:16]!r}"
    if not 1 <= p <= 65535:
        return f"the server reported an unusable port {p}"
    return host, p


def split_address(address: str) -> tuple[str, int]:
    """``"127.0.0.1:6380"`` / ``"[::1]:6380"`` -> (host, port); ValueError otherwise."""
    m = re.match(r"^\[([^\]]+)\]:(\d+)$", address) or re.match(r"^([^:\s]+):(\d+)$", address)
    if not m:
        raise ValueError(f"not a host:port address: {address[:80]!r}")
    checked = _check_host_port(m.group(1), m.group(2))
    if isinstance(checked, str):
        raise ValueError(checked)
    return checked


def _node(host: Any, port: Any, role: str, **kw) -> Node:
    checked = _check_host_port(host, port)
    if isinstance(checked, str):
        shown = f"{str(host)[:64]}:{str(port)[:16]}"
        return Node(shown, str(host)[:64], 0, role, healthy=False, problem=checked, **{k: v for k, v in kw.items() if k not in ("healthy", "problem")})
    h, p = checked
    return Node(format_address(h, p), h, p, role, **kw)


# --------------------------------------------------------------------------
# INFO
# --------------------------------------------------------------------------


def parse_info_text(text: str) -> dict[str, str]:
    """Raw ``INFO`` text -> {field: value} (section headers and blanks skipped)."""
    out: dict[str, str] = {}
    for line in str(text).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        out[key] = value
    return out


def info_fields(info: str | dict[str, Any]) -> dict[str, str]:
    """INFO as flat strings, from raw text or from redis-py's parsed dict.

    redis-py turns ``slave0:ip=..,port=..`` into a dict and numbers into ints;
    this puts them back as the server wrote them, so one parser serves both.
    """
    if isinstance(info, str):
        return parse_info_text(info)
    out: dict[str, str] = {}
    for key, value in (info or {}).items():
        if isinstance(value, dict):
            out[str(key)] = ",".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, bool):
            out[str(key)] = "1" if value else "0"
        else:
            out[str(key)] = str(value)
    return out


def is_sentinel(info: str | dict[str, Any]) -> bool:
    """True when ``INFO server`` says ``redis_mode:sentinel`` (``server_mode`` on Valkey)."""
    f = info_fields(info)
    return "sentinel" in (f.get("redis_mode"), f.get("server_mode"))


@record
class ReplicaLink:
    """One ``slaveN:`` line of a primary's ``INFO replication``."""

    address: str
    host: str
    port: int
    state: str  # online | wait_bgsave | send_bulk | ...
    offset: int
    lag: int | None
    problem: str | None = None  # an unusable address (then host/port are not to be used)


@record
class Replication:
    """A server's place in replication, from its INFO replication."""

    role: str  # "primary" | "replica"
    primary: str | None  # address of the primary (replica only)
    link_status: str | None  # master_link_status (replica only)
    replicas: list[ReplicaLink] = field(default_factory=list)
    problem: str | None = None


_SLAVE_KEY = re.compile(r"^slave(\d+)$")


def parse_replication(info: str | dict[str, Any]) -> Replication:
    """``INFO replication`` of one server: its role, its primary, its replicas."""
    f = info_fields(info)
    role_raw = f.get("role", "")
    if role_raw not in ("master", "slave"):
        return Replication("primary", None, None, problem=f"INFO replication has no usable role ({role_raw[:32]!r})")
    replicas: list[ReplicaLink] = []
    for key in sorted((k for k in f if _SLAVE_KEY.match(k)), key=lambda k: int(k[5:])):
        kv = dict(part.split("=", 1) for part in f[key].split(",") if "=" in part)
        checked = _check_host_port(kv.get("ip"), kv.get("port"))
        try:
            offset = int(kv.get("offset", "0"))
        except ValueError:
            offset = 0
        try:
            lag: int | None = int(kv["lag"]) if "lag" in kv else None
        except ValueError:
            lag = None
        if isinstance(checked, str):
            replicas.append(ReplicaLink(f"{kv.get('ip', '')[:64]}:{kv.get('port', '')[:16]}", "", 0, kv.get("state", ""), offset, lag, problem=checked))
        else:
            h, p = checked
            replicas.append(ReplicaLink(format_address(h, p), h, p, kv.get("state", ""), offset, lag))
    if role_raw == "master":
        return Replication("primary", None, None, replicas)
    checked = _check_host_port(f.get("master_host"), f.get("master_port"))
    if isinstance(checked, str):
        return Replication("replica", None, f.get("master_link_status"), replicas, problem=f"its primary: {checked}")
    return Replication("replica", format_address(*checked), f.get("master_link_status"), replicas)


# --------------------------------------------------------------------------
# Redis Cluster
# --------------------------------------------------------------------------


def _kv(item: Any) -> dict[str, Any]:
    """A RESP3 map or a RESP2 flat key/value list as a dict."""
    if isinstance(item, dict):
        return {str(k): v for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return {str(k): v for k, v in zip(item[0::2], item[1::2])}
    return {}


_SHARD_HEALTHY = ("online", "loading")


def parse_cluster_shards(reply: Any) -> list[Node]:
    """``CLUSTER SHARDS`` (Redis 7.0+) -> nodes, primaries first within each shard.

    A node whose ``health`` is ``fail`` (or anything but ``online``/``loading``)
    is reported unhealthy. ``loading`` is not a failure: Redis says it of every
    replica whose replication offset is 0, which is any replica of a primary
    that was never written to (seen on 7.0 and 8.2). A shard's
    replicas name its ``master`` node as their primary. ``health`` does not
    show PFAIL (only FAIL): :func:`merge_cluster_flags` adds what ``CLUSTER
    NODES`` says.
    """
    nodes: list[Node] = []
    for shard in reply or []:
        s = _kv(shard)
        members = [_kv(n) for n in (s.get("nodes") or [])]
        primary_addr = None
        for m in members:
            if str(m.get("role")) == "master":
                checked = _check_host_port(m.get("ip") or m.get("endpoint"), m.get("port") or m.get("tls-port"))
                if not isinstance(checked, str):
                    primary_addr = format_address(*checked)
        for m in sorted(members, key=lambda m: str(m.get("role")) != "master"):
            role = "primary" if str(m.get("role")) == "master" else "replica"
            health = str(m.get("health", "online"))
            node = _node(
                m.get("ip") or m.get("endpoint"),
                m.get("port") or m.get("tls-port"),
                role,
                managed_by="cluster",
                primary=primary_addr if role == "replica" else None,
                node_id=str(m.get("id", "")) or None,
            )
            if health not in _SHARD_HEALTHY and node.healthy:
                node.healthy, node.problem = False, f"cluster health {health}"
            nodes.append(node)
    return nodes


_BAD_FLAGS = ("fail?", "fail", "handshake", "noaddr")


def parse_cluster_nodes(text: str, myself_host: str | None = None) -> list[Node]:
    """``CLUSTER NODES`` -> nodes (primaries first), for servers without ``CLUSTER SHARDS``.

    Flags ``fail`` / ``fail?`` (PFAIL) / ``handshake`` / ``noaddr`` make a node
    unhealthy; a replica names its primary by the primary's address. A node
    that has not learnt its own IP yet lists itself as ``:port``: with
    ``myself_host`` (the host borgconf connected to) that line gets it.
    """
    rows = []
    for line in str(text or "").splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        node_id, addr, flags, master = parts[0], parts[1], parts[2].split(","), parts[3]
        hostport = addr.split("@", 1)[0].split(",", 1)[0]
        host, _, port = hostport.rpartition(":")
        if not host and myself_host and "myself" in flags:
            host = myself_host
        rows.append((node_id, host, port, flags, master))
    by_id: dict[str, str] = {}
    for node_id, host, port, _flags, _m in rows:
        checked = _check_host_port(host, port)
        if not isinstance(checked, str):
            by_id[node_id] = format_address(*checked)
    nodes: list[Node] = []
    for node_id, host, port, flags, master in rows:
        role = "replica" if "slave" in flags or "replica" in flags else "primary"
        node = _node(host, port, role, managed_by="cluster", primary=by_id.get(master) if role == "replica" else None, node_id=node_id)
        bad = [f for f in flags if f in _BAD_FLAGS]
        # (a disconnected link alone is not a failure: links drop and
        # reconnect; the cluster's own verdict is PFAIL, then FAIL)
        if bad and node.healthy:
            node.healthy, node.problem = False, "cluster flags " + ",".join(bad)
        nodes.append(node)
    nodes.sort(key=lambda n: n.role != "primary")
    return nodes


def merge_cluster_flags(shard_nodes: list[Node], flag_nodes: list[Node]) -> list[Node]:
    """Add the PFAIL / handshake / noaddr problems of ``CLUSTER NODES`` to the
    ``CLUSTER SHARDS`` view (matched by node id)."""
    problems = {n.node_id: n.problem for n in flag_nodes if not n.healthy and n.node_id}
    for n in shard_nodes:
        if n.healthy and n.node_id in problems:
            n.healthy, n.problem = False, problems[n.node_id]
    return shard_nodes


def parse_cluster_info(info: str | dict[str, Any]) -> dict[str, str]:
    """``CLUSTER INFO`` (text or redis-py's dict) -> flat strings."""
    return info_fields(info)


# --------------------------------------------------------------------------
# Sentinel
# --------------------------------------------------------------------------


def parse_sentinel_master_addr(reply: Any) -> tuple[str, int] | None:
    """``SENTINEL GET-MASTER-ADDR-BY-NAME`` -> (host, port); None when the name is unknown."""
    if not reply or not isinstance(reply, (list, tuple)) or len(reply) != 2:
        return None
    checked = _check_host_port(reply[0], reply[1])
    return None if isinstance(checked, str) else checked


_SENTINEL_BAD_FLAGS = ("s_down", "o_down", "disconnected")


def _sentinel_problem(d: dict[str, Any]) -> str | None:
    flags = [f for f in str(d.get("flags", "")).split(",") if f]
    bad = [f for f in flags if f in _SENTINEL_BAD_FLAGS]
    if bad:
        return "Sentinel flags " + ",".join(bad)
    return None


def parse_sentinel_master(reply: Any) -> dict[str, str]:
    """``SENTINEL MASTER name`` (flat list or map) -> {field: value}."""
    return {k: str(v) for k, v in _kv(reply).items()}


def parse_sentinel_replicas(reply: Any, master: str | None = None) -> list[Node]:
    """``SENTINEL REPLICAS name`` -> replica nodes managed by Sentinel.

    A replica Sentinel flags ``s_down`` / ``o_down`` / ``disconnected``, or
    whose ``master-link-status`` is not ``ok``, is reported unhealthy with the
    reason (a caller plans only healthy nodes). Its primary is what it reports
    (``master-host``/``master-port``), else ``master``.
    """
    nodes: list[Node] = []
    for item in reply or []:
        d = _kv(item)
        primary = master
        mh, mp = d.get("master-host"), d.get("master-port")
        if mh and mp and mh != "?":
            checked = _check_host_port(mh, mp)
            if not isinstance(checked, str):
                primary = format_address(*checked)
        node = _node(d.get("ip"), d.get("port"), "replica", managed_by="sentinel", primary=primary)
        if node.healthy:
            problem = _sentinel_problem(d)
            if problem is None and str(d.get("master-link-status", "ok")) != "ok":
                problem = f"master-link-status {str(d.get('master-link-status'))[:16]}"
            if problem:
                node.healthy, node.problem = False, problem
        nodes.append(node)
    return nodes


# --------------------------------------------------------------------------
# reading layer
# --------------------------------------------------------------------------

Connect = Callable[[str, int], Any]


def _describe(exc: Exception) -> str:
    import redis.exceptions as rx

    text = str(exc)
    if isinstance(exc, rx.TimeoutError):
        return "no answer (timeout)"
    if isinstance(exc, rx.ConnectionError) and not isinstance(exc, rx.AuthenticationError):
        return "cannot connect: " + (text.split(". ", 1)[-1] if text else "connection failed")
    if "NOAUTH" in text or "WRONGPASS" in text or isinstance(exc, rx.AuthenticationError):
        return "authentication failed"
    if "NOPERM" in text:
        return "not allowed: " + text[:200]
    return text[:200] or type(exc).__name__


def _close(client) -> None:
    try:
        client.close()
    except Exception:
        pass


def _read_info(connect: Connect, host: str, port: int, *sections: str) -> dict[str, str]:
    client = connect(host, port)
    try:
        return info_fields(client.execute_command("INFO", *sections))
    finally:
        _close(client)


def _refuse_sentinel(fields: dict[str, str], address: str) -> None:
    if is_sentinel(fields):
        raise DiscoveryError(
            f"{address} is a Sentinel, not a Redis to configure: use discover: sentinel with sentinel_master: NAME"
        )


def discover_replicas(connect: Connect, host: str, port: int, *, parallel: int = 8, max_nodes: int = MAX_NODES) -> list[Node]:
    """The seed and every replica under it, walking chained replicas.

    Each node's ``INFO replication`` is read once (concurrently, at most
    ``parallel`` at a time); an address already seen is not visited again, so
    a loop in the replies cannot make the walk go round. A replica that cannot
    be reached, or whose link is not up, is reported unhealthy. The seed's
    own failure is a :class:`DiscoveryError`.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    seed = format_address(host, port)
    try:
        fields = _read_info(connect, host, port, "server", "replication")
    except DiscoveryError:
        raise
    except Exception as exc:
        raise DiscoveryError(f"cannot discover replicas from {seed}: {_describe(exc)}") from None
    _refuse_sentinel(fields, seed)
    rep = parse_replication(fields)
    if rep.problem:
        raise DiscoveryError(f"cannot discover replicas from {seed}: {rep.problem}")
    nodes: dict[str, Node] = {seed: Node(seed, host, port, rep.role, None, rep.primary)}
    if rep.role == "replica" and rep.link_status != "up":
        nodes[seed].healthy, nodes[seed].problem = False, f"master_link_status {rep.link_status or 'unknown'}"
    order = [seed]

    def children(parent: str, r: Replication) -> list[tuple[ReplicaLink, str]]:
        out = []
        for link in r.replicas:
            if link.address in nodes:
                continue
            if len(nodes) >= max_nodes:
                raise DiscoveryError(f"more than {max_nodes} nodes under {seed}; refusing to walk further")
            node = Node(link.address, link.host, link.port, "replica", None, parent)
            nodes[link.address] = node
            order.append(link.address)
            if link.problem:
                node.healthy, node.problem = False, link.problem
            else:
                out.append((link, parent))
        return out

    def visit(link: ReplicaLink, parent: str) -> tuple[ReplicaLink, Replication | None, str | None]:
        try:
            f = _read_info(connect, link.host, link.port, "replication")
        except Exception as exc:
            return link, None, _describe(exc)
        return link, parse_replication(f), None

    pending = children(seed, rep)
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        running = {pool.submit(visit, link, parent) for link, parent in pending}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                link, r, error = fut.result()
                node = nodes[link.address]
                if error is not None:
                    node.healthy, node.problem = False, error
                    continue
                assert r is not None
                if r.problem:
                    node.healthy, node.problem = False, r.problem
                    continue
                if r.role != "replica":
                    node.healthy, node.problem = False, f"listed as a replica of {node.primary} but says it is a primary"
                    continue
                if link.state and link.state != "online":
                    node.healthy, node.problem = False, f"replication state {link.state[:32]}"
                elif r.link_status != "up":
                    node.healthy, node.problem = False, f"master_link_status {r.link_status or 'unknown'}"
                for child, parent in children(link.address, r):
                    running.add(pool.submit(visit, child, parent))
    return [nodes[a] for a in order]


def discover_cluster(connect: Connect, host: str, port: int) -> list[Node]:
    """Every node of the cluster the seed belongs to (one pipeline: SHARDS and NODES)."""
    seed = format_address(host, port)
    client = connect(host, port)
    try:
        from .wire import round_trip

        info, shards, nodes_text = round_trip(client, [("INFO", "server"), ("CLUSTER", "SHARDS"), ("CLUSTER", "NODES")])
    except Exception as exc:
        raise DiscoveryError(f"cannot discover the cluster from {seed}: {_describe(exc)}") from None
    finally:
        _close(client)
    if isinstance(info, Exception):
        raise DiscoveryError(f"cannot discover the cluster from {seed}: {_describe(info)}")
    _refuse_sentinel(info_fields(info), seed)
    if isinstance(nodes_text, Exception):
        text = str(nodes_text)
        if "cluster support disabled" in text.lower():
            raise DiscoveryError(f"{seed} is not a cluster node (cluster-enabled is no): use discover: replicas, or no discover:")
        raise DiscoveryError(f"cannot discover the cluster from {seed}: {_describe(nodes_text)}")
    flag_nodes = parse_cluster_nodes(nodes_text, myself_host=host)
    if isinstance(shards, Exception):  # before 7.0: CLUSTER NODES alone
        found = flag_nodes
    else:
        found = merge_cluster_flags(parse_cluster_shards(shards), flag_nodes)
    if len(found) > MAX_NODES:
        raise DiscoveryError(f"more than {MAX_NODES} cluster nodes at {seed}; refusing")
    if not found:
        raise DiscoveryError(f"{seed} reported no cluster nodes")
    return found


def discover_sentinel(connect: Connect, host: str, port: int, master_name: str) -> list[Node]:
    """The master a Sentinel names ``master_name`` and its replicas; the
    Sentinel itself is not among them. A seed that is not a Sentinel, or a
    name it does not monitor, is a :class:`DiscoveryError`."""
    seed = format_address(host, port)
    client = connect(host, port)
    try:
        from .wire import round_trip

        info, addr, master, replicas = round_trip(client, [("INFO", "server"), *(("SENTINEL", sub, master_name) for sub in ("GET-MASTER-ADDR-BY-NAME", "MASTER", "REPLICAS"))])
    except Exception as exc:
        raise DiscoveryError(f"cannot ask the Sentinel at {seed}: {_describe(exc)}") from None
    finally:
        _close(client)
    if isinstance(info, Exception):
        raise DiscoveryError(f"cannot ask the Sentinel at {seed}: {_describe(info)}")
    if not is_sentinel(info_fields(info)):
        raise DiscoveryError(f"{seed} is not a Sentinel (INFO server has no redis_mode:sentinel); discover: sentinel needs the Sentinel's url")
    where = parse_sentinel_master_addr(addr) if not isinstance(addr, Exception) else None
    if where is None:
        raise DiscoveryError(f"the Sentinel at {seed} does not monitor a master named {master_name!r}")
    primary = Node(format_address(*where), where[0], where[1], "primary", "sentinel")
    if not isinstance(master, Exception):
        problem = _sentinel_problem(parse_sentinel_master(master))
        if problem:
            primary.healthy, primary.problem = False, problem
    out = [primary]
    if not isinstance(replicas, Exception):
        out += parse_sentinel_replicas(replicas, primary.address)
    else:
        raise DiscoveryError(f"the Sentinel at {seed} did not list the replicas of {master_name!r}: {_describe(replicas)}")
    return out


def discover(connect: Connect, address: str, mode: str, *, sentinel_master: str | None = None, parallel: int = 8) -> list[Node]:
    """Nodes of one target's topology. ``address`` is the target's ``host:port``."""
    host, port = split_address(address)
    if mode == "replicas":
        return discover_replicas(connect, host, port, parallel=parallel)
    if mode == "cluster":
        return discover_cluster(connect, host, port)
    if mode == "sentinel":
        if not sentinel_master:
            raise DiscoveryError("discover: sentinel needs sentinel_master: NAME")
        return discover_sentinel(connect, host, port, sentinel_master)
    raise DiscoveryError(f"unknown discover mode {mode!r} (expected one of {', '.join(DISCOVER_MODES)})")


# --------------------------------------------------------------------------
# health gate (rolling apply)
# --------------------------------------------------------------------------


def gate_replica_link(info_replication: str | dict[str, Any]) -> str | None:
    """None when the node is a primary or a replica whose link is up and not syncing."""
    f = info_fields(info_replication)
    if f.get("role") != "slave":
        return None
    if f.get("master_link_status") != "up":
        return f"master_link_status is {f.get('master_link_status', 'unknown')}"
    if f.get("master_sync_in_progress", "0") not in ("0", ""):
        return "a full sync from the primary is in progress"
    return None


def gate_cluster_state(cluster_info: str | dict[str, Any]) -> str | None:
    """None when ``CLUSTER INFO`` says ``cluster_state:ok``."""
    state = parse_cluster_info(cluster_info).get("cluster_state")
    return None if state == "ok" else f"cluster_state is {state or 'unknown'}"


def gate_ping(reply: Any) -> str | None:
    """None when PING answered PONG (redis-py turns it into True)."""
    return None if reply is True or str(reply).upper() == "PONG" else f"PING answered {str(reply)[:32]!r}"


def health_problems(client, node: Node) -> list[str]:
    """The health gate of one node: PING, its replication link, and for a
    cluster node ``cluster_state:ok``. One pipeline; [] when it passes.
    (Reading back the applied values is the apply's own verify step.)"""
    try:
        from .wire import round_trip

        replies = round_trip(client, [("PING",), ("INFO", "replication"), *([("CLUSTER", "INFO")] if node.managed_by == "cluster" else [])])
    except Exception as exc:
        return [f"{node.address}: {_describe(exc)}"]
    problems = []
    checks: list[tuple[Callable[[Any], str | None], Any]] = [(gate_ping, replies[0]), (gate_replica_link, replies[1])]
    if node.managed_by == "cluster":
        checks.append((gate_cluster_state, replies[2]))
    for check, reply in checks:
        problem = _describe(reply) if isinstance(reply, Exception) else check(reply)
        if problem:
            problems.append(f"{node.address}: {problem}")
    return problems


# --------------------------------------------------------------------------
# parameters a topology owns / a group shares
# --------------------------------------------------------------------------

_REPLICAOF = ("replicaof", "slaveof")
_CLUSTER_OWNED = ("cluster-enabled", "cluster-config-file", "cluster-port")
_PER_NODE_ANNOUNCE = ("replica-announce-ip", "replica-announce-port", "slave-announce-ip", "slave-announce-port")

_WHO = {"cluster": "Redis Cluster", "sentinel": "Sentinel"}


def owned_by_topology(param_name: str, managed_by: str | None) -> str | None:
    """Why borgconf must not plan ``param_name`` on a node managed by
    ``managed_by`` ("cluster" / "sentinel"), or None when it may.

    Sentinel and Redis Cluster decide who replicates whom (``replicaof``);
    each node announces its own address (``replica-announce-ip/port``,
    ``cluster-announce-*``), so one shared value would be wrong on every
    node but one; ``cluster-enabled``, ``cluster-config-file`` and
    ``cluster-port`` are the cluster's own state. ``replica-announced``
    (whether Sentinel lists a replica) is a plain setting, not owned.
    """
    name = param_name.strip().lower()
    who = _WHO.get(managed_by or "")
    if who is None:
        return None
    if name in _REPLICAOF:
        return f"{name} is set by {who}: it decides which node replicates which (a failover rewrites it)"
    if name in _PER_NODE_ANNOUNCE:
        return f"{name} is each node's own address as {who} sees it; one value for every node would be wrong on all but one"
    if managed_by == "cluster":
        if name.startswith("cluster-announce-"):
            return f"{name} is each cluster node's own address; one value for every node would be wrong on all but one"
        if name in _CLUSTER_OWNED:
            return f"{name} belongs to the cluster's own state on each node (changing it takes the node out of the cluster)"
    return None


#: parameters that must be equal on every node of a replication group for a
#: failover to work (a promoted replica must accept the same clients and be
#: able to authenticate its new replicas).
GROUP_SHARED_PARAMS = frozenset({"requirepass", "masterauth", "primaryauth", "masteruser", "primaryuser"})


def shared_in_group(param_name: str) -> str | None:
    """Why ``param_name`` must be planned for every node of a group together, or None."""
    name = param_name.strip().lower()
    if name == "requirepass":
        return "requirepass must be the same on every node: clients move to a promoted replica after a failover"
    if name in ("masterauth", "primaryauth", "masteruser", "primaryuser"):
        return f"{name} must be the same on every node: after a failover every node authenticates to the new primary"
    return None


def group_shared_problems(desired: dict[str, dict[str, Any]]) -> list[str]:
    """Problems with a replication group's desired values, address -> {param: value}.

    Each :data:`GROUP_SHARED_PARAMS` value must be the same on every node
    (a node that leaves it out counts as differing from one that sets it), and
    when ``requirepass`` is set without ``masteruser``, ``masterauth`` must
    equal it or replicas cannot sync. Values are never echoed (they are
    secrets); nodes are named by address.
    """
    problems: list[str] = []
    if len(desired) < 1:
        return problems
    names = sorted({("masterauth" if p == "primaryauth" else "masteruser" if p == "primaryuser" else p) for vals in desired.values() for p in vals if p in GROUP_SHARED_PARAMS})

    def value(vals: dict[str, Any], p: str) -> Any:
        alias = {"masterauth": "primaryauth", "masteruser": "primaryuser"}.get(p)
        return vals.get(p, vals.get(alias) if alias else None)

    for p in names:
        seen: dict[Any, list[str]] = {}
        for addr, vals in desired.items():
            seen.setdefault(value(vals, p), []).append(addr)
        if len(seen) > 1:
            groups = sorted(seen.values(), key=len)
            problems.append(f"{p} differs across the replication group ({'; '.join(', '.join(g) for g in groups)} have different values); a failover would lock clients or replicas out")
    for addr, vals in desired.items():
        rp = value(vals, "requirepass")
        if rp and not value(vals, "masteruser") and value(vals, "masterauth") != rp:
            problems.append(f"{addr}: requirepass is set but masterauth does not equal it; its replicas (and it, after a failover) could not authenticate")
    return problems

