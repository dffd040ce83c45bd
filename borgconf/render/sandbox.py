"""The Jinja sandbox for a service's ``env:`` snippets: only {{ }} and {% if %},
every value, argument and result bounded, secrets scrubbed from its errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote as _pct

from .. import redact
from ..errors import RenderError

_SNIPPET_CONTEXT = ("url", "host", "port", "db", "password", "username")

# Limits of a snippet: a .env value is a line, not a document. Jinja's sandbox
# keeps a snippet away from Python's internals but not from a huge or endless
# computation, so the sandbox below also has no loops, no macros and no
# globals (range, lipsum, dict, cycler, joiner, namespace), and every filter,
# method call and operator that could build a large value is checked first.
SNIPPET_MAX_CHARS = 65_536  # any value a snippet builds
SNIPPET_MAX_NUMBER_ARG = 10_000  # a width, a count, a precision passed to a filter or method
SNIPPET_MAX_WORK = 1_000_000  # characters a single filter or call may be asked to produce
_SNIPPET_STATEMENTS = ("Output", "If")  # {{ ... }} and {% if %}; no for, set, macro, include, filter blocks
_STATEMENT_TAGS = {"Assign": "set", "AssignBlock": "set", "CallBlock": "call", "FilterBlock": "filter", "FromImport": "from",
                   "ExprStmt": "do", "EvalContextModifier": "autoescape", "ScopedEvalContextModifier": "autoescape",
                   "OverlayScope": "with", "Scope": "with"}


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return len(value) + sum(len(v) for v in value if isinstance(v, (str, bytes)))
    return 0


def _limit_error(message: str):
    from jinja2.sandbox import SecurityError

    return SecurityError(message)


def _check_result(value: Any) -> Any:
    if _size(value) > SNIPPET_MAX_CHARS:
        raise _limit_error(f"a value longer than {SNIPPET_MAX_CHARS} characters")
    return value


def _check_args(args: tuple, kwargs: dict) -> None:
    """Before a filter or method runs: no huge number argument (a width, a
    count, a precision) and no call that could multiply its input's size."""
    values = [*args, *kwargs.values()]
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > SNIPPET_MAX_NUMBER_ARG:
            raise _limit_error(f"a number argument above {SNIPPET_MAX_NUMBER_ARG} (a width or count that large is no .env value)")
    sizes = [_size(v) for v in values]
    if sizes and (max(sizes) + 1) * (sum(sizes) - max(sizes) + 1) > SNIPPET_MAX_WORK:
        raise _limit_error(f"a filter or call that could produce more than {SNIPPET_MAX_WORK} characters")


_PRINTF_SPEC = r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?"  # compiled by re on first use (issue 15)


def _check_printf(fmt: str) -> None:
    for m in re.finditer(_PRINTF_SPEC, fmt):
        for n in m.groups():
            if n == "*" or (n and int(n) > SNIPPET_MAX_NUMBER_ARG):
                raise _limit_error(f"a % format width or precision above {SNIPPET_MAX_NUMBER_ARG} (or *)")


def _check_str_format(fmt: str) -> None:
    import string

    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and ("{" in spec or any(int(n) > SNIPPET_MAX_NUMBER_ARG for n in re.findall(r"\d+", spec))):
            raise _limit_error(f"a format width or precision above {SNIPPET_MAX_NUMBER_ARG} (or a nested field)")


def _guarded_filter(name: str, func):
    import functools

    @functools.wraps(func)  # keeps jinja's pass_context / pass_environment marks
    def guarded(*args, **kwargs):
        _check_args(args, kwargs)
        if name == "format" and args and isinstance(args[0], str):
            _check_printf(args[0])
        result = func(*args, **kwargs)
        return _check_result(result)

    return guarded


def _sandbox():
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    class SnippetSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%", "+"})

        def call_binop(self, context, operator, left, right):
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * max(n, 0) > SNIPPET_MAX_CHARS:
                        raise _limit_error(f"a value longer than {SNIPPET_MAX_CHARS} characters")
            elif operator == "**":
                if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and left.bit_length() * right > 64 * 1024:
                    raise _limit_error("a power that large is no .env value")
            elif operator == "%" and isinstance(left, str):
                _check_printf(left)
            return _check_result(super().call_binop(context, operator, left, right))

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 -- jinja's own signature
            if not isinstance(__obj, jinja2.Undefined):  # range(10**9): say that range is undefined
                _check_args(args, kwargs)
            return _check_result(super().call(__context, __obj, *args, **kwargs))

        def wrap_str_format(self, value):
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt = value.__self__

            def checked(*args, **kwargs):
                _check_str_format(fmt)
                _check_args(args, kwargs)
                return _check_result(wrapped(*args, **kwargs))

            return checked

    env = SnippetSandbox(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.clear()  # range, lipsum, dict, cycler, joiner, namespace: none is a .env value
    env.filters = {name: _guarded_filter(name, f) for name, f in env.filters.items()}
    return env


def _scrub(text: str, ctx: dict[str, Any]) -> str:
    """An exception's message without the values a snippet can see that are secret."""
    password = str(ctx.get("password") or "")
    for value in sorted({password, _pct(password, safe=""), str(ctx.get("url") or "")}, key=len, reverse=True):
        if value:
            text = text.replace(value, redact.MASK)
    text = redact.redact(text)
    return text if len(text) <= 200 else text[:197] + "..."


def unknown_variables(ast) -> list[str]:
    """The names a parsed snippet reads that no snippet is given, sorted (jinja2.meta):
    every branch counts, not only the one a dry render takes."""
    from jinja2 import meta

    return sorted(meta.find_undeclared_variables(ast) - set(_SNIPPET_CONTEXT))


# A snippet that is only plain text and ``{{ name }}`` of a snippet variable (every
# snippet of specs/borgstack.yaml) renders to what jinja2 gives without importing
# it: jinja2 prints a value with str(); plain text without braces, line breaks or
# control characters passes through jinja2 unchanged. Anything else goes to the sandbox.
_PLAIN = r"[^{}\x00-\x1f\x7f]"
_SIMPLE = re.compile(rf"(?:{_PLAIN}|\{{\{{[ ]*(?:{'|'.join(_SNIPPET_CONTEXT)})[ ]*\}}\}})*")
_PLACEHOLDER = re.compile(r"\{\{[ ]*(\w+)[ ]*\}\}")


def simple_snippet(snippet: str, ctx: dict[str, Any]) -> str | None:
    """The rendered value of a plain ``{{ name }}`` snippet, or None when the
    snippet needs jinja2 (filters, expressions, {% if %}, an unknown name)."""
    if not _SIMPLE.fullmatch(snippet):
        return None
    return _PLACEHOLDER.sub(lambda m: str(ctx[m.group(1)]), snippet)


def snippet_sandbox(snippets):
    """One sandbox for rendering ``snippets``, or None when each takes the fast
    path (:func:`simple_snippet`): then jinja2 is never imported."""
    return _sandbox() if any(not _SIMPLE.fullmatch(s) for s in snippets) else None


def render_snippet(sandbox, where: str, snippet: str, ctx: dict[str, Any]) -> str:
    """One ``services.<name>.env.<VAR>`` value. Any failure is a RenderError that
    names where the snippet is (``where``), never a secret value. ``sandbox`` may
    be None: one is made when the snippet needs jinja2."""
    plain = simple_snippet(snippet, ctx)
    if plain is not None:
        return _check_result(plain)
    if sandbox is None:
        sandbox = _sandbox()
    import jinja2
    from jinja2 import nodes

    available = f"(available: {', '.join(_SNIPPET_CONTEXT)})"
    prefix = f"{where}: " if where else ""
    try:
        ast = sandbox.parse(snippet)
        unknown = unknown_variables(ast)
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], _SNIPPET_CONTEXT, n=1, cutoff=0.6)
            hint = f"; did you mean {{{{ {close[0]} }}}}?" if close else ""
            raise RenderError(f"{prefix}UndefinedError: {unknown[0]!r} is undefined: not a snippet variable{hint} {available}")
        for stmt in ast.find_all(nodes.Stmt):
            if type(stmt).__name__ not in _SNIPPET_STATEMENTS:
                tag = _STATEMENT_TAGS.get(type(stmt).__name__, type(stmt).__name__.lower())
                raise _limit_error(f"{{% {tag} %}} is not available in a snippet: use {{{{ ... }}}} expressions, filters and {{% if %}}")
        text = str(sandbox.from_string(ast).render({k: ctx[k] for k in _SNIPPET_CONTEXT}))
        return _check_result(text)
    except RenderError:
        raise
    except jinja2.TemplateError as exc:
        raise RenderError(f"{prefix}{type(exc).__name__}: {_scrub(str(exc), ctx)} {available}") from None
    except RecursionError:
        raise RenderError(f"{prefix}the snippet is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 -- 1/0, db + "x", wordwrap(0), truncate(-1), ...: the snippet's error, not borgconf's
        message = _scrub(str(exc), ctx)
        raise RenderError(f"{prefix}{type(exc).__name__}{': ' + message if message else ''} {available}") from None
