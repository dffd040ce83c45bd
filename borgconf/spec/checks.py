"""Domain checks: what the schema alone cannot say (parameters against the
catalog, ignore:, commands, services against databases and users, unique
target names), each problem at its position. Builds the validated Spec."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .. import params as P
from ..errors import Problem
from . import names as N
from .schema import _TOP_KEYS, SpecModel, Target, _At, _message, _model_at, _suggest_key
from .secrets import Concealed
from .types import ServerValue, Spec, file_digest
from .yamlread import _problem


def empty_secret_message(name: str, variables: set[str] | None) -> str:
    """Why an empty or null sensitive value is an error (issue 9: an unset CI secret expands to "")."""
    if variables:
        shown = ", ".join(f"${{{v}}}" for v in sorted(variables))
        why = f"{shown} {'is' if len(variables) == 1 else 'are'} empty, so {name} would be empty"
    else:
        why = f"{name} is empty (or null)"
    off = " and apply with --allow-no-auth" if name == "requirepass" else ""
    return (
        f"{why}: a sensitive parameter needs a value (an unset CI secret expands to \"\"); "
        f"to set no {name} on purpose write {name}: {{disabled: true}}{off}"
    )


_EXPECTED = {
    "bool": "a boolean (yes/no, true/false)", "int": "an integer in range", "memory": "a memory size in range (e.g. 2gb, 512mb, 25%)",
    "enum": "one of the parameter's choices", "enum-set": "a set of the parameter's choices",
    "keyspace-events": "a set of keyspace event classes (e.g. KEA)", "save": "save points (\"<seconds> <changes>\" pairs)",
}


def validate(doc, shown: str, files: list[str], problems: list[Problem], var_paths, concealed: Concealed | None = None) -> Any:
    """The Spec, or None with ``problems`` filled. No message quotes a value
    ``concealed`` hides (a ${VAR}'s, a secret's, wherever it landed)."""
    data = doc.data
    concealed = concealed if concealed is not None else Concealed(data, {}, var_paths)
    try:
        model = SpecModel.model_validate(data)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            at = (err.get("ctx") or {}).get("error")
            if isinstance(at, _At):
                loc += at.sub
            sensitive = concealed.at(loc, err.get("input"))
            msg = _message(err, sensitive)
            if sensitive and concealed.variables(loc) and err["type"] not in ("extra_forbidden", "missing"):
                msg += f" (got {concealed.placeholder(loc)}, not shown)"
            if err["type"] == "extra_forbidden":
                parent = loc[:-1]
                options = _TOP_KEYS if not parent else list(_model_at(parent).model_fields) if _model_at(parent) else []
                msg += _suggest_key(str(loc[-1]), options)
                problems.append(_problem(doc, loc, msg, at_key=True))
            elif err["type"] == "missing":
                problems.append(_problem(doc, loc[:-1], f"{loc[-1]}: {msg}"))
            else:
                problems.append(_problem(doc, loc, msg, at_key=isinstance(at, _At) and at.at_key))
        model = None

    catalog = P.catalog()
    raw_server = data.get("server") if isinstance(data, dict) else None
    server = _server_values(doc, raw_server, ("server",), catalog, problems, var_paths, concealed)
    target_server: dict[str, dict[str, ServerValue]] = {}
    if model is not None:
        listed = [(("targets", i), t) for i, t in enumerate(model.targets)] if model.targets is not None else [(("target",), model.target)] if model.target else []
        for path, t in listed:
            if t.server is not None:
                raw = data[path[0]][path[1]]["server"] if len(path) == 2 else data["target"]["server"]
                target_server[t.name] = _server_values(doc, raw, path + ("server",), catalog, problems, var_paths, concealed)

    ignore: set[str] = set()
    if model is not None:
        for i, name in enumerate(model.ignore):
            p = catalog.lookup(name)
            if p is None:
                if concealed.at(("ignore", i), name):
                    problems.append(_problem(doc, ("ignore", i), f"{concealed.placeholder(('ignore', i))} is not a parameter name"))
                    continue
                hint = catalog.suggest(name)
                problems.append(_problem(doc, ("ignore", i), f"unknown parameter {name!r}" + (f"; did you mean {hint!r}?" if hint else "")))
            else:
                ignore.add(p.name)
        for name in sorted(ignore & set(server)):
            problems.append(_problem(doc, ("server", server[name].name_used),
                f"{name} is both set and in ignore: in the same file (choose one; in a spec that extends another, the child's ignore: or value wins over the base's)", at_key=True))
        for i, t in enumerate(model.targets or [model.target] if (model.targets or model.target) else []):
            own = target_server.get(t.name, {})
            prefix = ("targets", i, "server") if model.targets is not None else ("target", "server")
            for name in sorted(ignore & set(own)):
                problems.append(_problem(doc, prefix + (own[name].name_used,), f"{name} is both set and in ignore:", at_key=True))

    commands: dict[str, str] = {}
    if model is not None:
        for cmd, action in model.commands.items():
            path = ("commands", cmd)
            if not N.COMMAND_NAME.fullmatch(cmd):
                problems.append(_problem(doc, path, f"{cmd!r} is not a command name", at_key=True))
                continue
            act = action.strip()
            if act.lower() in ("disabled", "enabled"):
                commands[cmd.upper()] = act.lower()
            elif N.COMMAND_NEW_NAME.fullmatch(act):
                commands[cmd.upper()] = act
            else:
                problems.append(_problem(doc, path, "expected disabled, enabled, or a new name (letters, digits, _ and -)"))

    services = model.services if model is not None else {}
    if model is not None:
        seen_db: dict[int, str] = {}
        databases = 16
        if "databases" in server and isinstance(server["databases"].checked, int):
            databases = server["databases"].checked
        for name, svc in services.items():
            path = ("services", name)
            if not N.SERVICE_NAME.fullmatch(name):
                problems.append(_problem(doc, path, f"{name!r} is not a service name (lower-case letters, digits, _ and -)", at_key=True))
            if svc.db in seen_db:
                problems.append(_problem(doc, path + ("db",), f"database {svc.db} is already used by service {seen_db[svc.db]!r}"))
            else:
                seen_db[svc.db] = name
            if svc.db >= databases:
                problems.append(_problem(doc, path + ("db",), f"database {svc.db} does not exist: databases is {databases} (0..{databases - 1})"))
            if svc.user is not None and svc.user not in model.users and svc.user != "default":
                shown_user = repr(svc.user) if not concealed.at(path + ("user",), svc.user) else concealed.placeholder(path + ("user",))
                problems.append(_problem(doc, path + ("user",), f"user {shown_user} is not defined under users:"))
        for name in model.users:
            if not N.USER_NAME.fullmatch(name):
                problems.append(_problem(doc, ("users", name), f"{name!r} is not an ACL user name", at_key=True))
            elif name == "default":
                problems.append(_problem(doc, ("users", name), "the default user is set through server.requirepass; give this user another name", at_key=True))

    if model is not None:
        from ..lint import ERROR_IDS, LINT_IDS

        for lint_id in model.lint.accept:
            if lint_id in ERROR_IDS:
                problems.append(_problem(doc, ("lint", "accept", lint_id), f"{lint_id} is an error, not a warning: it cannot be accepted", at_key=True))
            elif lint_id not in LINT_IDS:
                hint = _suggest_key(lint_id, list(LINT_IDS))
                known = "" if hint else f" (lint ids: {', '.join(LINT_IDS)})"
                problems.append(_problem(doc, ("lint", "accept", lint_id), f"unknown lint id {lint_id!r}{hint}{known}", at_key=True))

    if problems or model is None:
        return None
    targets = model.targets if model.targets is not None else [model.target or Target()]
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        i = next(i for i, n in enumerate(names) if n in names[:i])
        loc = ("targets", i, "name")
        shown_name = repr(names[i]) if not concealed.at(loc, names[i]) else concealed.placeholder(loc)
        problems.append(_problem(doc, loc, f"target names must be unique: {shown_name} is also targets[{names.index(names[i])}]"))
        return None
    addresses = [_address_key(t) for t in targets]
    for i, a in enumerate(addresses):
        if a in addresses[:i]:
            j = addresses.index(a)
            problems.append(_problem(doc, ("targets", i, "url"), f"targets {targets[j].name!r} and {targets[i].name!r} are the same server ({targets[i].address}): two targets must not have the same address"))
    if problems:
        return None
    return Spec(
        path=shown,
        files=files,
        sha256=file_digest(files),
        version=model.version,
        targets=targets,
        server=server,
        ignore=ignore,
        commands=commands,
        services=dict(services),
        users=dict(model.users),
        render=model.render,
        var_paths=var_paths,
        positions=doc.pos,
        lint_accept=dict(model.lint.accept),
        target_server=target_server,
    )


def _address_key(t: Target) -> str:
    """A target's address as one server: host case-insensitive, localhost and
    127.0.0.1 are not merged (they can be different servers behind a proxy)."""
    return t.address.lower()


def _server_values(doc, raw_server, at: tuple, catalog, problems: list[Problem], var_paths, concealed) -> dict[str, ServerValue]:
    """Every parameter of a server: block (shared or a target's own) checked against the catalog."""
    server: dict[str, ServerValue] = {}
    if isinstance(raw_server, dict):
        for name, value in raw_server.items():
            path = at + (name,)
            p = catalog.lookup(name)
            if p is None:
                hint = catalog.suggest(name)
                msg = f"unknown parameter {name!r}" + (f"; did you mean {hint!r}?" if hint else "")
                problems.append(_problem(doc, path, msg, at_key=True))
                continue
            if p.name in server:
                problems.append(_problem(doc, path, f"{name!r} is another name of {server[p.name].name_used!r}, already given", at_key=True))
                continue
            if p.sensitive and (value is None or value == "" or isinstance(value, dict)):
                if value == {"disabled": True}:
                    # the one explicit spelling of "no password": apply also needs --allow-no-auth
                    server[p.name] = ServerValue(p, "", value, name)
                    continue
                if isinstance(value, dict):
                    problems.append(_problem(doc, path, f"expected a value, or {{disabled: true}} to set no {p.name} on purpose"))
                    continue
                problems.append(_problem(doc, path, empty_secret_message(p.name, var_paths.get(path))))
                continue
            try:
                checked = P.check(p, value)
            except P.InvalidValue as e:
                if p.sensitive:
                    msg = "invalid value (not shown: sensitive)"
                elif concealed.at(path, value):  # a ${VAR}'s value or a secret, wherever it landed
                    msg = concealed.message(str(e), path, value, _EXPECTED.get(p.type, f"a valid {p.name}"))
                else:
                    msg = str(e)
                problems.append(_problem(doc, path, msg))
                continue
            server[p.name] = ServerValue(p, checked, value, name)
    elif raw_server is not None:
        problems.append(_problem(doc, at, "expected a mapping of parameter: value"))
    return server


__all__ = ["validate"]
