"""The spec's YAML, read with positions and limits.

Every value keeps where it was written (file, line, column) so every problem
names its place; limits on bytes, parser events, nodes and depth keep any
input, however hostile, cheap to refuse. Also the one place that finds a
position for a path (``position``) and walks a tree (``walk``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable
from collections.abc import Set as AbstractSet
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from ..errors import Problem, SpecError
from ..records import field, record

# Limits that keep any input, however hostile, to well under two seconds: the
# round-trip YAML parser costs 0.1-0.4 ms per node on a slow machine, and a
# real spec (a hundred targets, services and parameters) has a few thousand.
MAX_SPEC_BYTES = 256 * 1024
MAX_YAML_EVENTS = 5_000  # parser events (nodes as written), counted while parsing
MAX_NODES = 50_000  # values after aliases are expanded (a YAML alias bomb)
MAX_DEPTH = 32  # nesting; a real spec is 5 levels deep
MAX_EXTENDS_DEPTH = 16

Path_ = tuple  # a path in the spec: ("server", "maxmemory")


# ---------------------------------------------------------------- YAML with positions


@record
class _Doc:
    """A YAML document read with the position of every key and value."""

    data: Any
    pos: dict[tuple, tuple[str, int, int]]  # path -> (file, line, col), 1-based
    key_pos: dict[tuple, tuple[str, int, int]]
    # path -> the text as written of a plain scalar YAML read as another type than
    # text (0123456, 0x1F, 1e3, .inf, true, null); None: not known (an alias)
    written: dict[tuple, str | None] = field(default_factory=dict)


def _read_yaml(path: Path, shown: str) -> _Doc:
    from ..files import NotRegularFile, read_regular

    try:
        raw = read_regular(path, MAX_SPEC_BYTES)  # never blocks, never more: a FIFO or /dev/zero must not hang us
    except FileNotFoundError:
        raise SpecError([Problem(shown, 0, 0, "", "file not found")]) from None
    except NotRegularFile as e:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read: {e.strerror}; a spec is a YAML file")]) from None
    except OSError as e:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read: {e.strerror}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        try:
            size = f"{path.stat().st_size} bytes"
        except OSError:
            size = "more bytes"
        raise SpecError([Problem(shown, 1, 1, "", f"spec file is too large ({size}; the limit is {MAX_SPEC_BYTES})")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col(raw, e.start)
        raise SpecError([Problem(shown, line, col, "", f"not UTF-8 text (byte {e.start})")]) from None
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise SpecError([Problem(shown, line, col, "", "a NUL character is not allowed in a spec")])

    doc = _read_simple(text, shown)
    if doc is not None:
        return doc

    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import ConstructorError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="rt")
    yaml.Parser = _limited_parser()
    yaml.Constructor = _text_dates_constructor()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = yaml.load(text)
    except _Limit as e:
        raise SpecError([Problem(shown, e.line, e.col, "", e.message)]) from None
    except MarkedYAMLError as e:
        mark, what = e.problem_mark or e.context_mark, (e.problem or e.context or "invalid YAML").strip()
        context = re.sub(r"^while \w+ ", "", (e.context or "").strip())
        dup = re.match(r'found duplicate key "(.*)" with value "', what, re.S)
        if dup:  # never echo the values: they may be secrets
            what, context = f"duplicate key {dup.group(1)!r} (each key may appear once in a mapping)", ""
        elif isinstance(e, ConstructorError):  # its text quotes the value, which may be a secret
            what, context = "this value cannot be read as its YAML type (quote it to make it text)", ""
        else:  # the scanner quotes the character it stopped at: it may be one of a secret
            what = _unquoted(what, tab="'\\t'" in what, parser=type(e).__name__ == "ParserError")
        if "'\\t'" in (e.problem or "") and not dup:
            what += " (indent with spaces, not tabs)"
        elif "'{'" in (e.problem or "") and e.problem_mark is not None and text[e.problem_mark.index - 1 : e.problem_mark.index] == "$":
            what += ' (inside { } or [ ], a variable needs quotes: "${VAR}")'
        if context and e.context_mark and e.problem_mark and what.endswith("end of stream"):
            # an unclosed quote or bracket: where it opened, not the end of the file
            mark, what = e.context_mark, f"{context} opened here is never closed ({what})"
        elif context and e.context_mark and e.problem_mark and e.context_mark.line != e.problem_mark.line:
            what += f" (in {context} that starts on line {e.context_mark.line + 1})"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([Problem(shown, line, col, "", f"YAML syntax error: {_oneline(what)}")]) from None
    except ReaderError as e:  # a control character: YAML only takes it escaped in double quotes
        line, col = _line_col(text, e.position) if isinstance(e.position, int) else (1, 1)
        # which character is not said: it may be one of a secret (the position is enough)
        raise SpecError([Problem(shown, line, col, "", "a control character is not allowed in YAML text (in double quotes, write it as an escape such as \\t)")]) from None
    except Exception as e:  # noqa: BLE001 -- anything else ruamel raises on a hostile file
        # ruamel converts a plain scalar of thousands of digits with int(): Python refuses it
        m = re.search(r"[0-9_]{4000,}", text) if isinstance(e, ValueError) else None
        if m:
            raise SpecError([Problem(shown, *_line_col(text, m.start()), "", "a number with thousands of digits cannot be read")]) from None
        mark = getattr(getattr(yaml, "_parser", None), "mark", None) if not isinstance(e, YAMLError) else getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise SpecError([Problem(shown, line, col, "", f"the YAML cannot be read ({type(e).__name__})")]) from None

    from ruamel.yaml.error import YAMLWarning

    for w in caught:
        if not isinstance(w.message, YAMLWarning):
            continue
        # ruamel's warnings quote the spec's lines, secrets included: never show them
        node = getattr(w.message, "node", None)
        mark = getattr(node, "start_mark", None) or getattr(w.message, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = {
            "ReusedAnchorWarning": "an anchor name (&name) is defined twice",
            "MantissaNoDotYAML1_1Warning": "a YAML 1.1 float without a dot (quote the value)",
        }.get(type(w.message).__name__, f"YAML warning {type(w.message).__name__}")
        raise SpecError([Problem(shown, line, col, "", f"{what}; write it as plain YAML 1.2")])

    pos: dict[tuple, tuple[str, int, int]] = {}
    key_pos: dict[tuple, tuple[str, int, int]] = {}
    written: dict[tuple, str | None] = {}
    plain_text = getattr(getattr(yaml, "_parser", None), "__dict__", {}).get("_plain", {})
    budget = [MAX_NODES]

    def near(path: tuple) -> tuple[int, int]:
        while path and path not in pos:
            path = path[:-1]
        return pos.get(path, (shown, 1, 1))[1:]

    def fail(path: tuple, message: str) -> SpecError:
        return SpecError([Problem(shown, *near(path), _dotted(path), message)])

    def plain(node: Any, path: tuple) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise fail(path, f"spec has more than {MAX_NODES} values once its aliases are expanded (a YAML alias bomb?)")
        if len(path) > MAX_DEPTH:
            raise fail(path, f"spec is nested more than {MAX_DEPTH} levels deep")
        tag = getattr(getattr(node, "tag", None), "value", None)
        if tag is not None and tag not in _PLAIN_TAGS:
            # the tag is not quoted: an unquoted value that starts with ! is read as one (a secret, maybe)
            raise fail(path, "a YAML tag (!name) is not allowed in a spec (plain values only; quote a value that starts with !)")
        if isinstance(node, dict):
            out = {}
            lc = getattr(node, "lc", None)
            lc_data = (lc.data if lc is not None else None) or {}
            for k, v in node.items():
                if k is None or not isinstance(k, (str, int, float, bool)):
                    kl = lc_data.get(k) if isinstance(k, Hashable) else None
                    line, col = (kl[0] + 1, kl[1] + 1) if kl else near(path)
                    raise SpecError([Problem(shown, line, col, _dotted(path), "a mapping key must be a plain name")])
                key = str(k) if not isinstance(k, bool) else ("true" if k else "false")
                if k in lc_data:
                    kl, kc, vl, vc = lc_data[k]
                    key_pos[path + (key,)] = (shown, kl + 1, kc + 1)
                    pos[path + (key,)] = (shown, vl + 1, vc + 1)
                out[key] = plain(v, path + (key,))
            return out
        if isinstance(node, list):
            lc = getattr(node, "lc", None)
            lc_data = (lc.data if lc is not None else None) or {}
            out_list = []
            for i, v in enumerate(node):
                if i in lc_data:
                    il, ic = lc_data[i][:2]
                    pos[path + (i,)] = key_pos[path + (i,)] = (shown, il + 1, ic + 1)
                out_list.append(plain(v, path + (i,)))
            return out_list
        value = _scalar(node, path, pos, written, plain_text)
        if value is not _OTHER:
            return value
        if isinstance(node, (AbstractSet, bytes, bytearray)):
            raise fail(path, "a YAML set or binary value is not allowed in a spec (plain values only)")
        if tag is not None and hasattr(node, "value"):  # !!str 5 -> TaggedScalar
            return str(node.value)
        return str(node)  # dates and other YAML types: treat as text

    root = getattr(getattr(data, "lc", None), "line", None)
    if root is not None:  # a mapping or list at the top: where it starts, after comments
        pos[()] = (shown, root + 1, data.lc.col + 1)
    elif data is not None:  # a scalar document: its first line that is not a comment
        first = re.search(r"^[ \t]*[^#\s]", text, re.M)
        pos[()] = (shown, *(_line_col(text, first.end() - 1) if first else (1, 1)))
    try:
        data = plain(data, ())
    except RecursionError:
        raise SpecError([Problem(shown, 1, 1, "", "spec is nested too deeply")]) from None
    pos.setdefault((), (shown, 1, 1))
    return _Doc(data, pos, key_pos, written)


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}
_OTHER = object()  # _scalar: not a plain scalar


def _scalar(node: Any, path: tuple, pos: dict, written: dict, plain_text: dict) -> Any:
    """A scalar as ruamel constructed it (ScalarFloat, ScalarInt...) -> plain Python,
    recording the text as written of a plain one read as another type than text;
    ``_OTHER`` for anything else. Shared by both ways of reading (_read_simple)."""
    if isinstance(node, (bool, int, float)) or node is None:
        at = pos.get(path)
        written[path] = plain_text.get((at[1], at[2])) if at is not None else None
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return _OTHER


# What _read_simple reads: printable ASCII and line feeds. No tab, carriage
# return, backslash escape or other character where libyaml and ruamel's own
# scanner could read a document differently (they are ports of one design).
_NOT_SIMPLE = re.compile(r"[^\n\x20-\x5b\x5d-\x7e]")
# Shapes the two read differently (found by a review's fuzzing, 9 million documents):
# a quoted key with ':' against it in a flow collection (["a":b]; ruamel refuses it),
# a '...' document end (libyaml folds two into one; ruamel refuses the second), and
# a comment after a key whose plain value is on a later line (ruamel refuses it,
# "overlap in comment", when a blank line follows; _simple_doc checks the lines).
_NOT_SIMPLE_SHAPES = re.compile(r"""['"] *:[^ \n]|^\.\.\.""", re.M)


def _read_simple(text: str, shown: str) -> _Doc | None:
    """The _Doc the round-trip reader in _read_yaml gives, read with libyaml's
    parser (ruamel.yaml.clib) in a tenth of the time: for a spec of a hundred
    targets that is tens of milliseconds of every command (issues 12, 15).

    Only for a document where the two are known to agree: printable ASCII
    (_NOT_SIMPLE), one document without directives, no anchor, alias, tag,
    merge key or block scalar, every scalar on one line, keys that are plain
    scalars and never repeated, within the limits. Scalars are resolved and
    constructed by the round-trip reader's own resolver and constructor, so a
    value is exactly what it would be. Anything else, and any error, returns
    None: the round-trip reader then reads the file and gives its own messages.
    tests/unit/test_yaml_fast_path.py holds both readers equal."""
    try:
        from _ruamel_yaml import CParser
    except ImportError:  # no compiled ruamel.yaml.clib here: the round-trip reader reads it all
        return None
    if not text or _NOT_SIMPLE.search(text) or _NOT_SIMPLE_SHAPES.search(text):
        return None
    try:
        with warnings.catch_warnings(record=True) as caught:  # a YAML warning quotes the spec: the round-trip reader handles it
            warnings.simplefilter("always")
            doc = _simple_doc(CParser(text), text, shown)
        return None if caught else doc
    except Exception:  # noqa: BLE001 -- anything libyaml or the constructor refuses: the round-trip reader says why
        return None


class _NotSimple(Exception):
    """The document needs the round-trip reader (_read_simple)."""


def _simple_doc(parser: Any, text: str, shown: str) -> _Doc | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.events import MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent, SequenceStartEvent
    from ruamel.yaml.nodes import ScalarNode

    events = []
    depth = 0
    plain_text: dict[tuple[int, int], str] = {}
    while True:  # libyaml's parser keeps its own stack: no recursion, however deep the file
        e = parser.get_event()  # each checked as it comes: a hostile file stops early
        events.append(e)
        if len(events) >= MAX_YAML_EVENTS or getattr(e, "anchor", None) is not None or getattr(e, "tag", None) is not None:
            return None  # (an alias is an anchor's name)
        if isinstance(e, (MappingStartEvent, SequenceStartEvent)):
            depth += 1
            if depth >= MAX_DEPTH:
                return None
        elif isinstance(e, (MappingEndEvent, SequenceEndEvent)):
            depth -= 1
        elif isinstance(e, ScalarEvent):
            if e.style not in ("", None, "'", '"') or e.start_mark.line != e.end_mark.line:
                return None
            if not e.style and not e.value:  # an empty value: the readers place it differently
                return None
            if not e.style:  # plain: its text as written, as the round-trip parser records it
                plain_text[(e.start_mark.line + 1, e.start_mark.column + 1)] = e.value
        elif type(e).__name__ == "StreamEndEvent":
            break
    kinds = [type(e).__name__ for e in events]
    if kinds[:2] != ["StreamStartEvent", "DocumentStartEvent"] or kinds[-2:] != ["DocumentEndEvent", "StreamEndEvent"]:
        return None
    if kinds.count("DocumentStartEvent") != 1 or events[1].version is not None or events[1].tags:
        return None
    body = events[2:-2]
    if not body or not isinstance(body[0], (MappingStartEvent, SequenceStartEvent)):
        return None  # a scalar document or an empty one
    yaml = YAML(typ="rt")
    yaml.Constructor = _text_dates_constructor()
    resolver, constructor = yaml.resolver, yaml.constructor
    merge = "tag:yaml.org,2002:merge"
    pos: dict[tuple, tuple[str, int, int]] = {}
    key_pos: dict[tuple, tuple[str, int, int]] = {}
    written: dict[tuple, str | None] = {}
    lines = text.split("\n")

    made: dict[tuple, tuple[Any, str]] = {}  # a fleet spec repeats its words (name, url, persist, rewrite)

    def scalar(e: Any) -> tuple[Any, str]:
        key = (e.value, e.implicit, e.style)
        if key not in made:
            tag = resolver.resolve(ScalarNode, e.value, e.implicit)
            node = ScalarNode(tag, e.value, e.start_mark, e.end_mark, style=e.style or None)
            made[key] = constructor.construct_object(node, deep=True), tag
        return made[key]

    def value(i: int, path: tuple) -> tuple[Any, int]:  # (as deep as the events: under MAX_DEPTH)
        e = body[i]
        if isinstance(e, ScalarEvent):
            v = _scalar(scalar(e)[0], path, pos, written, plain_text)
            if v is _OTHER:
                raise _NotSimple
            return v, i + 1
        i += 1
        if isinstance(e, SequenceStartEvent):
            items = []
            while not isinstance(body[i], SequenceEndEvent):
                m = body[i].start_mark
                pos[path + (len(items),)] = key_pos[path + (len(items),)] = (shown, m.line + 1, m.column + 1)
                item, i = value(i, path + (len(items),))
                items.append(item)
            return items, i + 1
        out: dict[str, Any] = {}
        seen: set = set()
        while not isinstance(body[i], MappingEndEvent):
            k_event = body[i]
            if not isinstance(k_event, ScalarEvent):
                raise _NotSimple  # a list or mapping as a key
            k, tag = scalar(k_event)
            if tag == merge or k is None or not isinstance(k, (str, int, float, bool)) or k in seen:
                raise _NotSimple  # a merge key, a key that is no plain name, a key written twice
            seen.add(k)
            key = str(k) if not isinstance(k, bool) else ("true" if k else "false")
            km, vm = k_event.start_mark, body[i + 1].start_mark
            if vm.line != km.line and isinstance(body[i + 1], ScalarEvent) and "#" in lines[km.line]:
                raise _NotSimple  # a comment after the key, the value below it (_NOT_SIMPLE_SHAPES)
            key_pos[path + (key,)] = (shown, km.line + 1, km.column + 1)
            pos[path + (key,)] = (shown, vm.line + 1, vm.column + 1)
            out[key], i = value(i + 1, path + (key,))
        return out, i + 1

    root = body[0].start_mark
    pos[()] = (shown, root.line + 1, root.column + 1)
    try:
        data, end = value(0, ())
    except _NotSimple:
        return None
    if end != len(body):
        return None
    return _Doc(data, pos, key_pos, written)


def _line_col(text: str | bytes, index: int) -> tuple[int, int]:
    nl = "\n" if isinstance(text, str) else b"\n"
    return text.count(nl, 0, index) + 1, index - (text.rfind(nl, 0, index) + 1) + 1


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# What the scanner, parser and composer say, without the text they quote from the
# spec: a character where they stopped, an alias, a tag handle. That text may be
# part of a secret (an unquoted password starting with *, a backslash escape in a
# double-quoted one), so a YAML error gives the position and a description only.
_QUOTED = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""


@lru_cache(maxsize=1)
def _scanner_patterns() -> tuple[list, Any, Any]:
    """(generic, token, own) for _unquoted: each quoting message of ruamel with its
    generic text, ruamel's own token kinds, what else it quotes of its own.
    Compiled on the first YAML error: a valid spec never needs them, and compiling
    them at import cost every command ~1.3 ms (issue 15)."""
    generic = [
        (re.compile(rf"found unknown escape character {_QUOTED}"),
         "found an unknown escape sequence in a double-quoted value (write \\\\ for a backslash, or use single quotes)"),
        (re.compile(rf"expected escape sequence of (\d+) hexdecimal numbers, but found {_QUOTED}"),
         lambda m: f"an escape sequence needs {m.group(1)} hexadecimal digits (\\xXX, \\uXXXX, \\UXXXXXXXX)"),
        (re.compile(rf"found character {_QUOTED} that cannot start any token"),
         "found a character that cannot start a value (quote a value that starts with @, `, %, ! , & or *)"),
        (re.compile(rf"found undefined alias {_QUOTED}"),
         "found an alias (*name) to no anchor (quote a value that starts with *)"),
        (re.compile(rf"found undefined tag handle {_QUOTED}"),
         "found an undefined tag handle (quote a value that starts with !)"),
        (re.compile(rf"duplicate tag handle {_QUOTED}"), "a %TAG handle is defined twice"),
        (re.compile(rf"expected URI, but found {_QUOTED}"), "expected a tag URI"),
        (re.compile(rf",? but (?:found|got) (?!'<)(?!\('<){_QUOTED}"), ""),
        (re.compile(rf"\bfound (?!'<){_QUOTED}"), "found a character that is not allowed here"),
    ]
    # what ruamel quotes of its own: token kinds ('<scalar>', '<block end>') and the
    # punctuation it expected (',' or ']')
    token = re.compile(r"(?<=but found )'[\[\]{}?:,-]'|(?<=but got )'[\[\]{}?:,-]'")
    own = re.compile(r"""'<[a-z ]+>'|\('<[a-z ]+>',\)|'[,\]}>!.\[{:?-]'|' '|"'"|'\\t'""")
    return generic, token, own


def _unquoted(what: str, *, tab: bool = False, parser: bool = False) -> str:
    """A scanner or parser message without any text quoted from the spec (the
    parser's own token kinds, '{' or '<scalar>', are not text of the spec)."""
    if tab and "cannot start any token" in what:
        return "found a tab that cannot start any token"  # whitespace of the layout, not of a value
    patterns, token, own = _scanner_patterns()
    if parser:
        what = token.sub(lambda m: m.group(0).replace("'", "\0"), what)  # kept out of the patterns below
    for pattern, generic in patterns:
        what = pattern.sub(generic if callable(generic) else (lambda m, g=generic: g), what)
    if re.search(_QUOTED, own.sub("", what)):  # something else quoted: say where only
        return "the YAML cannot be read here"
    return what.replace("\0", "'")


def _oneline(text: str) -> str:
    return " ".join(text.split())


class _Limit(Exception):
    """A size limit reached while parsing (raised through ruamel, caught in _read_yaml)."""

    def __init__(self, message: str, mark: Any):
        super().__init__(message)
        self.message = message
        self.line, self.col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


@lru_cache(maxsize=1)
def _text_dates_constructor():
    """Dates stay text: `requirepass: 2024-02-30` is a password, not a broken date."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class TextDates(RoundTripConstructor):
        pass

    TextDates.add_constructor("tag:yaml.org,2002:timestamp", lambda self, node: self.construct_scalar(node))
    return TextDates


@lru_cache(maxsize=1)
def _limited_parser():
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, MappingStartEvent, ScalarEvent
    from ruamel.yaml.parser import RoundTripParser

    class LimitedParser(RoundTripParser):
        """Checks events as they are parsed, so that a hostile file stops early,
        with a position: how many, how deep, and no list, mapping or alias as a
        mapping key (ruamel would hash it, and fail with a TypeError)."""

        _events = 0
        mark = None  # where the parser is: for errors that carry no position

        def get_event(self) -> Any:
            event = super().get_event()
            self.mark = event.start_mark
            self._events += 1
            if self._events > MAX_YAML_EVENTS:
                raise _Limit(f"spec has more than {MAX_YAML_EVENTS} YAML values", event.start_mark)
            stack = self.__dict__.setdefault("_stack", [])  # per open collection: [is a mapping, nodes seen]
            if isinstance(event, (ScalarEvent, AliasEvent, CollectionStartEvent)):
                if stack and stack[-1][0] and stack[-1][1] % 2 == 0 and not isinstance(event, ScalarEvent):
                    raise _Limit("a mapping key must be a plain name (not a list, a mapping or an alias)", event.start_mark)
                if isinstance(event, CollectionStartEvent):
                    stack.append([isinstance(event, MappingStartEvent), 0])
                    if len(stack) > MAX_DEPTH:
                        raise _Limit(f"spec is nested more than {MAX_DEPTH} levels deep", event.start_mark)
                elif stack:
                    stack[-1][1] += 1
            if isinstance(event, ScalarEvent) and event.style is None:  # plain: its text as written
                self.__dict__.setdefault("_plain", {})[(event.start_mark.line + 1, event.start_mark.column + 1)] = event.value
            if isinstance(event, CollectionEndEvent) and stack:
                stack.pop()
                if stack:
                    stack[-1][1] += 1
            return event

    return LimitedParser


_PATH_WORD = re.compile(r"^[A-Za-z0-9_-]+$")


def _dotted(path: tuple) -> str:
    """services.n8n.db, users.n8n.keys[0]; an odd key (a space, a newline) is quoted: services['n8n x']."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not _PATH_WORD.fullmatch(str(p)):
            out += f"[{str(p)!r}]"
        else:
            out += f".{p}" if out else str(p)
    return out




def position(table: dict[tuple, tuple[str, int, int]], path: tuple, default: tuple[str, int, int]) -> tuple[str, int, int]:
    """Where ``path`` (or its nearest written parent) is in the spec."""
    p = path
    while p and p not in table:
        p = p[:-1]
    return table.get(p) or default


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any, Any]]:
    """Every (path, key, value) below ``node``, depth first; ``key`` is None for
    list items and the root. A mapping's key comes before its value."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), k, v
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), None, v
            yield from walk(v, path + (i,))


def _problem(doc: _Doc, path: tuple, message: str, *, at_key: bool = False) -> Problem:
    table = doc.key_pos if at_key else doc.pos
    file, line, col = position(table, path, doc.pos[()]) if not at_key else position(table, path, position(doc.pos, path, doc.pos[()]))
    return Problem(file, line, col, _dotted(path), message)


