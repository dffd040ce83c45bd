"""redis.conf: every server parameter as directives Redis reads back, rename-command
lines, ACL users; quoting for redis.conf's own argument syntax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import __version__
from .. import params as P
from ..errors import RenderError
from .confquote import conf_quote
from ..records import field, record
from .templates import _render_template
from ..spec.types import percent_needs_memory, percent_values

# ---------------------------------------------------------------- redis.conf

@record
class Directive:
    name: str
    args: list[str]  # quoted for redis.conf

    @property
    def line(self) -> str:
        return " ".join([self.name, *self.args])


@record
class Section:
    title: str
    directives: list[Directive] = field(default_factory=list)


_SECTIONS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # (title, exact names, name prefixes)
    ("Network", ("bind", "bind-source-addr", "port", "protected-mode", "tcp-backlog", "timeout", "tcp-keepalive", "socket-mark-id"), ("unixsocket", "tls-")),
    ("General", ("daemonize", "supervised", "pidfile", "loglevel", "logfile", "databases", "always-show-logo", "set-proc-title", "proc-title-template", "locale-collate"), ("syslog-",)),
    ("Snapshots (RDB)", ("save", "stop-writes-on-bgsave-error", "rdbcompression", "rdbchecksum", "dbfilename", "rdb-del-sync-files", "dir"), ()),
    ("Append only file (AOF)", ("appendonly", "appendfsync", "appendfilename", "appenddirname", "no-appendfsync-on-rewrite"), ("aof-", "auto-aof-")),
    ("Memory", (), ("maxmemory", "lazyfree-", "active-defrag", "activedefrag")),
    ("Security", ("requirepass", "masterauth", "masteruser", "aclfile", "acllog-max-len", "acl-pubsub-default", "enable-protected-configs", "enable-debug-command", "enable-module-command"), ()),
    ("Replication", ("replicaof",), ("replica-", "repl-", "min-replicas-")),
    ("Clients and limits", ("maxclients", "client-output-buffer-limit", "client-query-buffer-limit", "proto-max-bulk-len"), ()),
]


def _section_of(name: str) -> str:
    for title, names, prefixes in _SECTIONS:
        if name in names or name.startswith(prefixes):
            return title
    return "Other"


def _memory_text(p: P.Param, canonical: str) -> str:
    return P.display(p, canonical) or canonical


def directive_lines(p: P.Param, canonical: str) -> list[list[str]]:
    """The quoted argument lists (one per redis.conf line) of a canonical value."""
    t = p.type
    if t == "save":
        pairs = P.parse_save(canonical)
        return [[str(s), str(c)] for s, c in pairs] if pairs else [['""']]
    if t == "client-output-buffer-limit":
        names = {"slave": "replica"}
        mem = P.catalog().lookup("maxmemory")
        return [
            [names.get(cls, cls), _memory_text(mem, str(h)), _memory_text(mem, str(s)), str(sec)]  # type: ignore[arg-type]
            for cls, (h, s, sec) in P.parse_cobl(canonical).items()
        ]
    if t == "replicaof":
        return [[conf_quote(tok) for tok in canonical.split()]] if canonical else []
    if t in ("string-list", "int-list", "float-list", "enum-set"):
        tokens = canonical.split()
        return [[conf_quote(tok) for tok in tokens] if tokens else ['""']]
    if t == "memory":
        return [[conf_quote(_memory_text(p, canonical))]]
    return [[conf_quote(canonical, always=p.sensitive)]]


def _user_directive(name: str, user) -> Directive:
    args = ["on" if user.enabled else "off"]
    if user.password:
        args.append(conf_quote(">" + user.password, always=True))
    from ..users import channel_rule, key_rule

    args += [conf_quote(key_rule(k)) for k in user.keys]
    args.append("resetchannels")
    args += [conf_quote(channel_rule(c)) for c in user.channels]
    args += [conf_quote(tok) for tok in user.commands.split()]
    return Directive("user", [conf_quote(name), *args])


def redis_conf_context(spec, *, total_memory: int | None = None) -> dict[str, Any]:
    """``total_memory`` (bytes) resolves ``maxmemory: 25%``: the live server's when
    apply persists (persist: file), else the spec's ``render.total_memory``; with
    neither, a percentage is refused (never this machine's memory)."""
    memory = total_memory or spec.render.total_memory
    if not memory:
        needs = percent_values(spec.server)
        if needs:
            file, line, col = spec.where(("server", needs[0].name_used))
            at = f"{file}:{line}:{col}: " if line else ""
            raise RenderError(f"{at}server.{needs[0].name_used}: {percent_needs_memory(needs[0])}")
    by_title: dict[str, Section] = {}
    for name, sv in spec.server.items():
        try:
            canonical = P.desired(sv.param, sv.checked, live=None, total_memory=memory)
        except P.InvalidValue as exc:
            raise RenderError(f"server.{sv.name_used}: {exc}") from None
        title = _section_of(name)
        section = by_title.setdefault(title, Section(title))
        for args in directive_lines(sv.param, canonical):
            section.directives.append(Directive(name, args))
    order = [t for t, _, _ in _SECTIONS] + ["Other"]
    sections = [by_title[t] for t in order if t in by_title and by_title[t].directives]
    renames = [
        {"command": cmd, "new_name": '""' if want == "disabled" else want}
        for cmd, want in spec.commands.items()
        if want != "enabled"
    ]
    users = []
    if "aclfile" not in spec.server:  # Redis refuses user lines together with an aclfile
        users = [_user_directive(n, u) for n, u in spec.users.items() if n != "default"]
    return {
        "borgconf_version": __version__,
        "spec_name": Path(spec.path).name,
        "sections": sections,
        "renames": renames,
        "users": users,
    }


def _expected_lines(context: dict[str, Any]) -> list[tuple[str, int]]:
    """Each directive line the template is meant to write, with its number of arguments."""
    out = [(d.line, 1 + len(d.args)) for sec in context["sections"] for d in sec.directives]
    out += [(f"rename-command {r['command']} {r['new_name']}", 3) for r in context["renames"]]
    out += [(u.line, 1 + len(u.args)) for u in context["users"]]
    return out


def check_reads_back(text: str, context: dict[str, Any]) -> None:
    """The rendered file, read the way Redis reads it (config.c: split on "\\n",
    trimmed, comments skipped, sdssplitargs), holds exactly the directives meant,
    each with exactly its arguments: nothing (a file name in the header comment,
    a value) can end a line early or start a directive of its own."""
    from .confquote import config_directives, split_args

    want = []
    for line, count in _expected_lines(context):
        args = split_args(line)
        if "\n" in line or args is None or len(args) != count:
            name = line.split(" ", 1)[0]
            raise RenderError(f"redis.conf: a {name} line would not read back as {count - 1} argument(s); refusing to write it")
        want.append(args)
    got = config_directives(text)
    if got != want:
        extra = "unbalanced quoting" if got is None else f"{len(got)} directive line(s) where {len(want)} were meant"
        raise RenderError(f"redis.conf would not read back as the directives meant ({extra}); refusing to write it")


def render_redis_conf(spec, *, total_memory: int | None = None) -> str:
    context = redis_conf_context(spec, total_memory=total_memory)
    text = _render_template("redis.conf.j2", context)
    check_reads_back(text, context)
    return text


def conf_holds_secret(spec) -> bool:
    return bool(
        any(sv.param.sensitive and sv.checked for sv in spec.server.values())
        or any(u.password for n, u in spec.users.items() if n != "default")
        or any(v not in ("disabled", "enabled") for v in spec.commands.values())
    )
