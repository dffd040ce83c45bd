"""Find `borgconf ...` command lines in shell text and check them against the real CLI.

Used by the tests of the CI examples and of the README: a command a user
copies must parse with the click command it names (every option exists on that
subcommand, takes the value given, and the arguments fit).
"""

from __future__ import annotations

import re
import shlex

import click

SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ";;", "(", ")", "<", ">", ">>", "<<", "2>", "|&"}
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


def strip_heredocs(script: str) -> str:
    """Drop the bodies of here-documents (their text is not shell commands)."""
    out: list[str] = []
    end: str | None = None
    for line in script.splitlines():
        if end is not None:
            if line.strip() == end:
                end = None
            continue
        out.append(line)
        m = _HEREDOC.search(line)
        if m:
            end = m.group(2)
    return "\n".join(out)


def _logical_lines(script: str):
    buf = ""
    for line in strip_heredocs(script).splitlines():
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        yield buf + line
        buf = ""
    if buf:
        yield buf


def borgconf_commands(script: str, variables: dict[str, str] | None = None) -> list[list[str]]:
    """Every `borgconf ...` invocation in ``script`` as argv (without "borgconf").

    Comments are dropped, ``$VAR`` / ``${VAR}`` in arguments are replaced from
    ``variables``; the command ends at a shell operator (``||``, ``;``, ``|``...).
    """
    variables = variables or {}
    found: list[list[str]] = []
    for line in _logical_lines(script):
        if "borgconf" not in line:
            continue
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        try:
            tokens = list(lex)
        except ValueError:
            continue
        for i, tok in enumerate(tokens):
            if tok != "borgconf" or (i and tokens[i - 1] not in SHELL_OPERATORS and tokens[i - 1] not in ("then", "do", "else", "exec", "time")):
                continue
            argv: list[str] = []
            for t in tokens[i + 1:]:
                if t in SHELL_OPERATORS or set(t) <= set("|&;<>()"):
                    break
                argv.append(re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), t))
            found.append(argv)
    return found


def check_command(argv: list[str]) -> str | None:
    """None when the CLI accepts ``borgconf <argv>``, else the reason (click's message)."""
    from borgconf.cli import cli

    try:
        with cli.make_context("borgconf", list(argv), resilient_parsing=False) as ctx:
            # click >= 8.2 keeps the subcommand in _protected_args (8.1: protected_args)
            protected = ctx.__dict__.get("_protected_args", ctx.__dict__.get("protected_args", []))
            rest = list(protected) + list(ctx.args)
            if not rest:
                return "no subcommand"
            name, *args = rest
            sub = cli.get_command(ctx, name)
            if sub is None:
                return f"no such command {name!r}"
            if any(a in ("-h", "--help") for a in args):
                return None
            with sub.make_context(name, args, parent=ctx, resilient_parsing=False):
                pass
    except click.exceptions.Exit:
        return None  # --help / --version
    except click.ClickException as e:
        return e.format_message()
    return None


def cli_options() -> dict[str, set[str]]:
    """Every option string of every command: {"": group options, "plan": {...}, ...}."""
    from borgconf.cli import cli

    out: dict[str, set[str]] = {"": set()}
    for p in cli.params:
        if isinstance(p, click.Option):
            out[""].update(p.opts + p.secondary_opts)
    for name, cmd in cli.commands.items():
        out[name] = set()
        for p in cmd.params:
            if isinstance(p, click.Option):
                out[name].update(p.opts + p.secondary_opts)
    return out
