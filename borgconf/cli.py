"""The command line: parse flags, call the core, pick a view, map errors to exit codes.

Exit codes: 0 success / in sync; 1 any error (usage errors and invalid specs
included), nothing changed unless the message says what did; 2 differences found with --detailed-exitcode or
--check; 3 a fleet apply that changed some targets and failed on others.
"""

from __future__ import annotations

import os
import sys

import click

from . import __version__
from .errors import BorgconfError, Refused, SpecError
from .redact import redact

# logging is imported only where it is used: with -v, or once some library
# (redis-py) has imported it; until then no record of the "borgconf" logger could
# be shown (its level is WARNING, and it logs no warning before that) (issue 15)


def _log():
    import logging

    return logging.getLogger("borgconf")


def _debug(msg: str, *args) -> None:
    if "logging" in sys.modules:  # else no handler and no -v: the record would be dropped
        _log().debug(msg, *args)


def _stderr_handler_class() -> type:
    import logging

    class _StderrHandler(logging.StreamHandler):
        """Always the current sys.stderr (main() may run many times in one process)."""

        @property  # type: ignore[override]
        def stream(self):
            return sys.stderr

        @stream.setter
        def stream(self, value):
            pass

    return _StderrHandler


class State:
    def __init__(self, color: bool, verbose: bool, env_file: str | None = None):
        self.color = color
        self.verbose = verbose
        self.env_file = env_file


def _out(ctx: click.Context):
    from .views import Out

    return Out(sys.stdout, color=ctx.find_root().obj.color)


def _err(message: str) -> None:
    sys.stderr.write(redact(f"error: {message}") + "\n")


# -- global options: before or after the subcommand --------------------------------
#
# `borgconf --no-color plan SPEC` and `borgconf plan SPEC --no-color` are the same
# command: the group and every subcommand take --no-color, -v/--verbose and
# --version; --env-file is the group's and every spec-reading command's. The
# options of a subcommand only ever turn things on (a flag given anywhere counts).


def _state(ctx: click.Context) -> State:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = State(color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"), verbose=False)
    return root.obj


def _set_no_color(ctx: click.Context, param, value: bool) -> None:
    if value:
        _state(ctx).color = False


def _set_verbose(ctx: click.Context, param, value: bool) -> None:
    if value:
        import logging

        from .redact import RedactingFilter

        state = _state(ctx)
        state.verbose = True
        log = _log()
        if not any(getattr(h, "_borgconf_stderr", False) for h in log.handlers):
            handler = _stderr_handler_class()()
            handler._borgconf_stderr = True  # type: ignore[attr-defined]
            handler.addFilter(RedactingFilter())
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
        log.setLevel(logging.DEBUG)


# one click.Path of each kind for every option and argument: making one looks up the
# translation of its name ("file", "directory") each time (issue 15)
_FILE_PATH = click.Path(dir_okay=False)
_DIR_PATH = click.Path(file_okay=False)

_NO_COLOR_HELP = "Plain output even on a terminal (NO_COLOR works too)."
_VERBOSE_HELP = "Debug logs on stderr; tracebacks of unexpected errors."
_ENV_FILE_HELP = "Read ${VAR}s from this .env file too (the environment wins)."


# one decorator for the group and every subcommand (each gets its own Option):
# click looks up the translation of its help text each time one is made (issue 15)
_VERSION_OPTION = click.version_option(__version__, "--version", prog_name="borgconf", message="%(prog)s %(version)s")


def _version_option():
    return _VERSION_OPTION


def global_options(f):
    """--no-color, -v/--verbose and --version on a subcommand, as on the group."""
    f = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbose, help=_VERBOSE_HELP)(f)
    f = click.option("--no-color", is_flag=True, expose_value=False, callback=_set_no_color, help=_NO_COLOR_HELP)(f)
    return _version_option()(f)


def _env_file(ctx: click.Context, given: str | None) -> str | None:
    """--env-file after the subcommand, else the one before it."""
    return given if given is not None else _state(ctx).env_file


def _no_env_file(ctx: click.Context) -> None:
    if _state(ctx).env_file is not None:
        raise click.UsageError(f"--env-file: borgconf {ctx.info_name} reads no spec")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_version_option()
@click.option("--no-color", is_flag=True, help=_NO_COLOR_HELP)
@click.option("-v", "--verbose", is_flag=True, help=_VERBOSE_HELP)
@click.option("--env-file", type=_FILE_PATH, help=_ENV_FILE_HELP + " For the commands that read a spec.")
@click.pass_context
def cli(ctx: click.Context, no_color: bool, verbose: bool, env_file: str | None) -> None:
    """Keep Redis servers exactly as a YAML spec in git says."""
    ctx.obj = State(color=sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR"), verbose=False, env_file=env_file)
    if "logging" in sys.modules:  # a -v of an earlier main() in this process is undone
        import logging

        _log().setLevel(logging.WARNING)
    _set_verbose(ctx, None, verbose)


spec_argument = click.argument("spec", type=_FILE_PATH)
env_file_option = click.option("--env-file", type=_FILE_PATH, help=_ENV_FILE_HELP)
url_option = click.option("--url", envvar="BORGCONF_URL", help="Override the target's URL (also BORGCONF_URL).")
target_option = click.option("--target", "target_name", help="Only this target, or the targets a glob matches (cache-*; quote it).")
allow_path_option = click.option(
    "--allow-path", "allow_paths", multiple=True, type=_DIR_PATH,
    help="Also allow the spec's render and TLS paths under DIR (repeatable; e.g. /etc/redis for persist: file). "
    "A spec alone may only name files inside its repository or directory.",
)


def _start_up_over() -> None:
    """Start-up (imports, the spec's models) is over: for the whole process,
    __main__ puts its _collect_again here (start-up's objects frozen, the
    collector back on). Called by every command before its own work, before a
    spec is parsed: what parsing leaves in cycles is collected as usual."""


def _spec_ready() -> None:
    """The spec package imported (its models built, issue 15), then start-up is over."""
    from . import spec  # noqa: F401

    _start_up_over()


def _load(spec_path: str, env_file: str | None, allow_paths: tuple[str, ...] = ()):
    _spec_ready()
    from .spec import load_spec

    spec = load_spec(spec_path, env_file=env_file, allow_paths=allow_paths)
    from .lint import refuse_errors

    refuse_errors(spec)  # weak-secret: before anything connects
    _debug("spec %s: read %s%s", spec_path, " <- ".join(spec.files), f", variables also from {env_file}" if env_file else "")
    return spec


def _targets(spec, target_name: str | None, url: str | None):
    from .fleet import select_targets

    return select_targets(spec, target_name, url)


def _findings(spec, lives=None, nodes=None) -> list:
    """The lint findings of the spec and of every server read; a discovered node is
    linted with the own server: block of the target that found it."""
    from .lint import lint

    return lint(spec, lives or {}, {n: i.group for n, i in (nodes or {}).items() if i.group})


def _as_planned(findings: list, plan) -> list:
    """A saved plan's apply lints the spec offline (it reads each server only under
    its lock), so a finding that a server's facts rule out (lint.RULED_OUT_BY_LIVE:
    no-requirepass where the server has a password) would show though the plan,
    made against the servers, had none. A plan of format 1.1 or later records its
    findings: such a finding is shown only where the plan has it too, by id and
    place in the spec (file name, line, column: the spec's path may be written
    otherwise at apply). Every other finding is shown, and the text is always
    apply's own, never the file's: a plan file can hide no other warning."""
    from .lint import RULED_OUT_BY_LIVE

    try:
        minor = int(plan.format_version.split(".")[1])
    except (IndexError, ValueError):
        return findings
    if minor < 1:  # 1.0 recorded no lint: all of them
        return findings

    def key(id_, file, line, column) -> tuple:
        return id_, os.path.basename(str(file or "")), line, column

    made = {key(d.get("id"), d.get("file"), d.get("line"), d.get("column")) for d in plan.lint if isinstance(d, dict)}
    return [f for f in findings if f.id not in RULED_OUT_BY_LIVE or key(f.id, *f.place) in made]


def _lint(spec, strict: bool, out, findings=None, *, show: bool = True) -> list:
    """Lint findings as warnings (not shown where stdout is one JSON document);
    with --strict they are an error. A finding the spec accepts (lint.accept)
    is shown as accepted, with its reason, and never fails --strict.
    ``findings``: computed already (_findings), else the spec's offline ones.
    Returns the findings. (Error findings were refused where the spec was read.)"""
    if findings is None:
        findings = _findings(spec)
    if show:
        from .findings import grouped

        for line, f in grouped(findings):  # one line for a finding several targets share
            if f.accepted:
                out.line(f"accepted: {line} (lint.accept: {f.accepted})", "dim")
            else:
                out.line(f"warning: {line}", "yellow")
    open_findings = [f for f in findings if not f.accepted]
    if strict and open_findings:
        raise BorgconfError(f"{len(open_findings)} lint finding(s) and --strict (accept one on purpose with lint: {{accept: {{ID: reason}}}})")
    return findings


def _progress(fmt: str = "human", total: int | None = None, doing: str = "read"):
    """One line per finished target on a terminal (stderr), nothing when piped or with --format json."""
    from .views import Progress

    return Progress.on_terminal(doing, total) if fmt != "json" else None


def _read_lives(spec, targets, url, *, parallel: int = 8, fail_fast: bool = False, progress=None, keep_going: bool = False):
    """Live state of every target (fleet.read_targets), discovered nodes included.
    A target that cannot be read is reported and left out; with one target, or
    --fail-fast, its error is the command's error (with ``keep_going`` only
    --fail-fast raises: a JSON plan lists every target, this one with its error)."""
    from .fleet import read_targets

    read = read_targets(spec, targets, url=url, parallel=parallel, fail_fast=fail_fast, progress=progress)
    if read.failures and ((len(targets) == 1 and not read.states and not read.nodes and not keep_going) or fail_fast):
        raise next(iter(read.failures.values()))
    for name, exc in read.failures.items():
        _err(f"target {name}: {exc}")
    for name, live in read.states.items():
        _debug("target %s: %s at %s, run_id %s", name, live.server_label, live.address, live.run_id)
    if read.failures and not read.states and not keep_going:
        raise BorgconfError(f"no target could be read ({', '.join(read.failed)})")
    return read


def _build_plan(s, read, *, url: str | None = None, keep_going: bool = False):
    """The plan of every server read; a server that cannot be planned (a parameter
    its version does not know, a replication group that would differ) is reported
    and left out, the others are planned; the plan lists both kinds with their
    error (``plan.unread``). Returns (plan, names not planned); ``keep_going``
    returns a plan even when no target could be planned."""
    from .fleet import unread_targets
    from .planner import build_plan

    failures: dict = {}
    p = build_plan(s, read.states, targets=read.targets, nodes=read.nodes, failures=failures)
    p.unread, p.order = unread_targets(read, failures, url=url)
    if failures and not p.targets and len(failures) == 1 and not read.failures and not keep_going:
        raise next(iter(failures.values()))
    for name, exc in failures.items():
        _err(f"target {name}: {exc}")
    if failures and not p.targets and not keep_going:
        raise BorgconfError(f"no target could be planned ({', '.join(list(read.failures) + list(failures))}); nothing changed")
    return p, list(read.failures) + list(failures)


_NO_FILES_HELP = "Leave out render.redis_conf / render.env_file (e.g. in CI, where the rendered files are not)."


def _file_changes(p, s, lives, env_file: str | None, allow_paths) -> None:
    """The rendered files that differ from what the spec renders now, as changes of
    kind file in the same plan (only when the spec names render paths: rendering
    loads jinja2)."""
    if s.render.redis_conf or s.render.env_file:
        from .filechanges import add_file_changes

        add_file_changes(p, s, lives, env_file=env_file, allow_paths=allow_paths)


@cli.command()
@global_options
@spec_argument
@env_file_option
@allow_path_option
@click.option("--strict", is_flag=True, help="Lint findings are errors.")
@click.pass_context
def validate(ctx, spec, env_file, allow_paths, strict):
    """Check a spec offline: schema, variables, services, lint. Never connects."""
    s = _load(spec, _env_file(ctx, env_file), allow_paths)
    out = _out(ctx)
    _lint(s, strict, out)
    out.line(f"{spec}: valid ({len(s.server)} parameter(s), {len(s.services)} service(s), {len(s.targets)} target(s))", "green")
    return 0


@cli.command()
@global_options
@spec_argument
@env_file_option
@allow_path_option
@url_option
@target_option
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True)
@click.option("--out", "out_path", type=_FILE_PATH, help="Save the plan (JSON, no secrets) for apply.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when in sync.")
@click.option("--strict", is_flag=True, help="Lint findings are errors.")
@click.option("--show-unchanged", is_flag=True, help="List parameters already in sync.")
@click.option("--parallel", type=click.IntRange(1, 64), default=16, show_default=True, help="Targets read at once.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first target that cannot be read.")
@click.option("--no-files", is_flag=True, help=_NO_FILES_HELP)
@click.pass_context
def plan(ctx, spec, env_file, allow_paths, url, target_name, fmt, out_path, detailed_exitcode, strict, show_unchanged, parallel, fail_fast, no_files):
    """Read the live server(s) and show what apply would change."""
    from .views import plan_json, render_plan

    s = _load(spec, _env_file(ctx, env_file), allow_paths)
    targets = _targets(s, target_name, url)
    # a JSON plan lists every target, one that cannot be read or planned with its error
    read = _read_lives(s, targets, url, parallel=parallel, fail_fast=fail_fast, progress=_progress(fmt), keep_going=fmt == "json")
    lives = read.states
    p, failed = _build_plan(s, read, url=url, keep_going=fmt == "json")
    if not no_files:
        _file_changes(p, s, lives, _env_file(ctx, env_file), allow_paths)
    out = _out(ctx)
    findings = _findings(s, lives, read.nodes)
    if fmt == "json" or out_path:
        from .contract import seal
        from .views import lint_json

        seal(p, s)  # fingerprints of the secrets it sets, under a fresh random salt
        p.lint = lint_json(findings, strict=strict)  # the same findings the text output shows
    if out_path:
        from .contract import recorded_spec_path

        p.spec_path = recorded_spec_path(spec, out_path)
    if fmt == "json":
        sys.stdout.write(plan_json(p))
        _lint(s, strict, out, findings, show=False)
    else:
        _lint(s, strict, out, findings)
        render_plan(p, out, show_in_sync=show_unchanged)
    if failed:
        if out_path:
            _err(f"not saving an incomplete plan to {out_path}")
        _err(f"{len(failed)} target(s) could not be read: {', '.join(failed)}")
        return 1
    if out_path:
        from .files import write_atomic

        try:
            write_atomic(out_path, plan_json(p), mode=0o644)
        except OSError as e:
            raise BorgconfError(f"cannot write the plan to {out_path}: {e.strerror or e}") from None
        if fmt != "json":
            out.line(f"Saved the plan to {out_path}; apply it with: borgconf apply {out_path}")
    return 2 if detailed_exitcode and p.has_changes else 0


@cli.command()
@global_options
@click.argument("spec_or_plan", type=_FILE_PATH)
@env_file_option
@allow_path_option
@url_option
@target_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation (required when not on a terminal).")
@click.option("--no-persist", is_flag=True, help="Change live values only; skip CONFIG REWRITE / file.")
@click.option("--allow-evict", is_flag=True, help="Accept maxmemory below the memory in use.")
@click.option("--allow-hide-data", is_flag=True, help="Accept databases below a database holding keys.")
@click.option("--allow-no-persistence", is_flag=True, help="Accept turning off both AOF and RDB snapshots.")
@click.option("--allow-no-auth", is_flag=True, help="Accept turning authentication off (requirepass: {disabled: true}).")
@click.option("--lock-timeout", type=click.FloatRange(0, 3600), default=10.0, show_default=True, help="Seconds to wait for another apply on the same server.")
@click.option("--parallel", type=click.IntRange(1, 64), default=16, show_default=True, help="Targets read and applied at once.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first target that fails.")
@click.option("--rolling", is_flag=True, help="One server at a time, replicas before their primary, each passing its health gate before the next.")
@click.option("--gate-timeout", type=click.FloatRange(0, 3600), default=10.0, show_default=True, help="Seconds a server may take to pass its health gate (--rolling).")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True, help="json: one result document on stdout (also when refused or failed); the rest goes to stderr.")
@click.option("--no-files", is_flag=True, help=_NO_FILES_HELP + " A saved plan holds its own file changes.")
@click.pass_context
def apply(ctx, fmt, **options):
    """Apply a spec (plans first) or a saved plan file exactly."""
    if fmt != "json":
        return _apply(ctx, **options)
    from .views import ApplyReport

    return ApplyReport(options["spec_or_plan"]).run(lambda report: _apply(ctx, **options, report=report))


def _apply(ctx, spec_or_plan, env_file, allow_paths, url, target_name, auto_approve, no_persist, allow_evict, allow_hide_data, allow_no_persistence, allow_no_auth, lock_timeout, parallel, fail_fast, rolling, gate_timeout, no_files=False, report=None):
    from .apply import refuse_unless_allowed
    from .fleet import apply_fleet, connect_targets, is_plan_file, load_saved_plan
    from .views import Out, render_plan

    out = _out(ctx) if report is None else Out(sys.stderr)  # --format json: stdout is the result document
    env_file = _env_file(ctx, env_file)
    allow = {name for name, on in (("allow-evict", allow_evict), ("allow-hide-data", allow_hide_data), ("allow-no-persistence", allow_no_persistence), ("allow-no-auth", allow_no_auth)) if on}
    lives: dict = {}  # read in spec mode only; from a plan file, apply_target reads the server itself
    nodes: dict = {}  # discovered nodes (spec mode)
    failed: list[str] = []  # targets that could not be read (spec mode)
    saved_file = is_plan_file(spec_or_plan)
    if saved_file:
        if no_files:
            raise click.UsageError("--no-files: a saved plan holds its own file changes (plan again with --no-files)")
        _spec_ready()
        saved = load_saved_plan(spec_or_plan, env_file=env_file, allow_paths=allow_paths, target_name=target_name, url=url)
        s, p, targets = saved.spec, saved.plan, saved.targets
        failed = [u.name for u in p.unread]  # could not be read when planned: never applied, reported
        for u in p.unread:
            _err(f"target {u.name}: not applied: it could not be read when the plan was made ({u.error}); plan again when it answers")
        if failed and fail_fast:
            from .errors import PlanError

            if report is not None:
                report.planned(s, p, [])
            raise PlanError(f"--fail-fast: the plan holds {len(failed)} target(s) that could not be read ({', '.join(failed)}); nothing changed")
        from .lint import refuse_errors

        refuse_errors(s)  # as _load does, before anything connects: a secret that became weak since the plan was made
        clients = connect_targets(targets, urls=saved.urls)
    else:
        s = _load(spec_or_plan, env_file, allow_paths)
        targets = _targets(s, target_name, url)
        json_doc = report is not None  # the result document lists every target, one not read with its error
        read = _read_lives(s, targets, url, parallel=parallel, fail_fast=fail_fast, progress=_progress(), keep_going=json_doc)
        lives, clients, nodes = read.states, read.clients, read.nodes
        targets = [t for t in read.targets if t.name in lives]
        p, failed = _build_plan(s, read, url=url, keep_going=json_doc)
        if not no_files:
            _file_changes(p, s, lives, env_file, allow_paths)
        if failed and fail_fast:
            raise BorgconfError(f"--fail-fast: {len(failed)} target(s) could not be planned ({', '.join(failed)}); nothing changed")
    findings = _findings(s, lives, nodes)  # the same lint as plan (offline only, for a saved plan: read under the lock later)
    if saved_file:
        findings = _as_planned(findings, p)
    findings = _lint(s, False, out, findings)
    if report is not None:
        report.planned(s, p, findings)
    if p.targets or not failed:  # "No changes. 0 target(s) in sync" would hide that none could be read
        render_plan(p, out)
    for tp in p.targets:  # a refusal holds even when nothing can change live (databases is restart-only)
        refuse_unless_allowed(tp, allow)
    live_changes = any(tp.live_changes for tp in p.targets)
    if not live_changes:
        if p.has_changes:
            out.line("Nothing can change live; the restart-required changes above go into redis.conf.")
        if no_persist or all(t.persist == "none" for t in targets):
            return 1 if failed else 0
        # no live change, but the live values may never have been persisted (an interrupted
        # apply): persist them under the lock, without asking (nothing live changes)
    if live_changes and not auto_approve:
        if not sys.stdin.isatty():
            raise Refused("not on a terminal: pass --auto-approve to apply without confirmation (nothing changed)")
        if not click.confirm("Apply these changes?", default=False, err=report is not None):
            raise Refused("not approved; nothing changed")
    from .apply import deferred_interrupts

    with deferred_interrupts() as interrupt:  # from here on Ctrl-C stops at a step boundary, never half way
        done = apply_fleet(
            s, p, targets, clients, lives=lives, no_persist=no_persist, allow=allow, lock_timeout=lock_timeout,
            fail_fast=fail_fast, parallel=parallel, rolling=rolling, gate_timeout=gate_timeout,
            progress=_progress(total=len(p.targets), doing="applied"), saved_file=saved_file, interrupt=interrupt,
            env_file=env_file, allow_paths=allow_paths,
        )
        if report is not None:
            report.applied(done)
        return _apply_outcome(done, p, failed, out, rolling)


def _apply_outcome(done, p, failed: list[str], out, rolling: bool) -> int:
    """Report what a fleet apply did, as the servers hold it, and its exit code."""
    from .views import render_results

    if done.failures and len(p.targets) == 1 and not failed:
        raise next(iter(done.failures.values()))
    for name, exc in done.failures.items():
        _err(f"target {name}: {exc}")
    render_results(done.results, out)
    from .errors import Interrupted

    cut = any(r.interrupted for r in done.results) or done.not_reached or any(isinstance(e, Interrupted) for e in done.failures.values())
    if done.interrupted and cut:  # (a Ctrl-C after every target was done stopped nothing)
        for r in done.results:
            if r.interrupted:
                if r.applied:
                    said = "interrupted after the change was applied and " + ("not persisted (live only)" if r.persisted == "none" else "persisted")
                else:
                    said = "interrupted after persisting (no live change)" if r.persisted != "none" else "interrupted; nothing changed"
                _err(f"{'target ' + r.target + ': ' if len(p.targets) > 1 else ''}{said}")
        if len(p.targets) > 1:
            _err(
                f"interrupted: changed: {', '.join(done.changed) or 'none'}; "
                f"not started: {', '.join(done.not_reached) or 'none'}"
            )
        return 3 if done.changed_some and len(p.targets) > 1 else 1
    if rolling and (done.gate_failed or done.failures):
        at = done.gate_failed[0] if done.gate_failed else next(iter(done.failures))
        why = "; ".join(done.gate_failed[1]) if done.gate_failed else str(done.failures[at])
        changed = ", ".join(done.changed) or "none"
        _err(
            f"rolling apply stopped at {at}: {'its health gate failed' if done.gate_failed else 'its apply failed'}: {why}. "
            f"Changed before stopping: {changed}. Not reached: {', '.join(done.not_reached) or 'none'}."
        )
        return 3 if done.changed_some else 1
    if done.not_reached:
        _err(f"--fail-fast: not applied: {', '.join(done.not_reached)}")
    if done.failures or failed or done.not_reached:
        # 3 only when some target really changed: the fleet is now half applied
        return 3 if done.changed_some else 1
    return 0


@cli.command()
@global_options
@click.pass_context
def schema(ctx):
    """Print the JSON Schema of the spec (for editors)."""
    import json

    _no_env_file(ctx)
    _spec_ready()
    from .spec.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return 0


@cli.command()
@global_options
@spec_argument
@env_file_option
@click.option("--out-dir", type=_DIR_PATH, help="Place render.redis_conf / render.env_file under DIR (default: the spec's directory).")
@click.option("--check", is_flag=True, help="Write nothing; show a diff and exit 2 when a file would change.")
@click.option("--allow-db-move", is_flag=True, help="Accept a service on another database number than in the existing .env (its keys stay behind).")
@allow_path_option
@click.pass_context
def render(ctx, spec, env_file, out_dir, check, allow_db_move, allow_paths):
    """Write redis.conf and .env from the templates; secrets are generated once, never rotated."""
    from .render import render_files

    _spec_ready()
    out = _out(ctx)
    result = render_files(spec, out_dir=out_dir, check=check, allow_db_move=allow_db_move, env_file=_env_file(ctx, env_file), allow_paths=allow_paths)
    _lint(result.spec, False, out)
    for move in result.db_moves:
        out.line(f"warning: {move} (--allow-db-move): the keys stay in the old database", "yellow")
    sec = result.secrets
    if check:
        for f in result.changed:
            out.line(f"would {'create' if f.before is None else 'update'} {f.path}", "bold")
            for line in f.diff().splitlines():  # secrets masked, .env values never shown
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else "yellow" if line.startswith("~") else None
                out.line(line, style)
        for name in sec.generated:
            out.line(f"{name} would be generated (a new secret) in {result.files[-1].path}", "yellow")
        if result.changed:
            out.line(f"{len(result.changed)} file(s) would change; run without --check to write them.", "bold")
            return 2
        out.line(f"{', '.join(str(f.path) for f in result.files)}: up to date with {spec}", "green")
        return 0
    for f in result.files:
        out.line(f"{f.status} {f.path} (mode {f.mode:04o})", "green" if f.changed else None)
    env_path = result.files[-1].path
    for name in sec.generated:
        out.line(f"generated {name} ({len(sec.values[name])} characters) into {env_path}; later renders keep it", "yellow")
    for name in sec.kept:
        out.line(f"kept {name} from {env_path}")
    s = result.spec
    out.line(f"Rendered {spec}: {len(s.server)} parameter(s), {len(s.services)} service(s), {len(s.commands)} command(s).", "bold")
    return 0


# ---------------------------------------------------------------- import (issue 13)


@cli.command("import")
@global_options
@click.option("--url", required=True, help="The server to adopt (redis:// or rediss://, no credentials).")
@click.option("-o", "--output", "output", type=_FILE_PATH, help="Write the spec here (0600); default: stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--discover", "discover_mode", type=click.Choice(["replicas", "cluster"]), help="Import every node found from --url (a primary's replicas, or a Redis Cluster) into one spec.")
@click.pass_context
def import_(ctx, url, output, force, discover_mode):
    """Write a spec of a running server: its non-default parameters, commands and users.

    The password comes from BORGCONF_PASSWORD or REDISCLI_AUTH, a renamed
    CONFIG's name from BORGCONF_CONFIG_COMMAND (never flags: argv is visible).
    Secrets are written as ${VAR} placeholders, never their values.
    """
    import datetime

    from .adopt import import_group, import_server, write_spec
    from .spec.schema import Target

    _no_env_file(ctx)
    _spec_ready()
    config_command = os.environ.get("BORGCONF_CONFIG_COMMAND") or "CONFIG"
    try:
        target = Target.model_validate({"url": url, "config_command": config_command})
    except Exception:
        raise BorgconfError("--url must be a redis:// or rediss:// URL without credentials, and BORGCONF_CONFIG_COMMAND a command name") from None
    if output and os.path.lexists(output) and not force:
        raise BorgconfError(f"{output} exists; pass --force to overwrite it (nothing read, nothing written)")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if discover_mode:
        result = import_group(target, url, discover_mode, config_command=config_command, now=now)
    else:
        result = import_server(target, url, config_command=config_command, now=now)
    if not output:
        sys.stdout.write(result.text)
        return 0
    write_spec(output, result.text, force=force)
    out = _out(ctx)
    what = f"{len(result.parameters)} parameter(s) that differ from the defaults" if not discover_mode else f"{len(result.parameters)} parameter(s) that differ from the defaults (shared, and per node where the nodes differ)"
    out.line(f"wrote {output} (mode 0600): {what}", "green")
    if result.variables:
        out.line("set before plan: " + ", ".join(sorted(result.variables)))
    for note in result.left_out:
        out.line(f"left out: {note}", "yellow")
    return 0


# ---------------------------------------------------------------- status (issue 13)


@cli.command()
@global_options
@spec_argument
@env_file_option
@allow_path_option
@url_option
@target_option
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 healthy, 2 a warning, 1 an error.")
@click.option("--parallel", type=click.IntRange(1, 64), default=8, show_default=True, help="Targets read at once.")
@click.pass_context
def status(ctx, spec, env_file, allow_paths, url, target_name, fmt, detailed_exitcode, parallel):
    """Live health of each target against the spec: memory, hit rate, clients, persistence, replication, keys."""
    from .status import ERROR, WARN, fleet_health, health_json, render_health

    s = _load(spec, _env_file(ctx, env_file), allow_paths)
    targets = _targets(s, target_name, url)
    health = fleet_health(s, targets, url=url, parallel=parallel)
    if fmt == "json":
        sys.stdout.write(health_json(health))
    else:
        render_health(health, _out(ctx))
    unread = [t for t in health.targets if t.error]
    if unread and fmt == "json":
        for t in unread:
            _err(f"target {t.name}: {t.error}")
    if unread and len(unread) == len(health.targets):
        return 1
    if detailed_exitcode:
        return {ERROR: 1, WARN: 2}.get(health.verdict, 0)
    return 1 if unread else 0


def _apply_json(error: click.ClickException, args: list[str]) -> bool:
    """Whether a usage error is apply's with ``--format json`` on the command line
    (click stopped before it parsed the options: the words are read as written)."""
    ctx = getattr(error, "ctx", None)
    if ctx is None or ctx.command.name != "apply":
        return False
    return "--format=json" in args or any(a == "--format" and b == "json" for a, b in zip(args, args[1:]))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    from . import redact as _redact

    _redact.clear()  # the secrets of this invocation only (main() may run many times in one process)
    try:
        rv = cli.main(args=args, prog_name="borgconf", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:
        _err("aborted; nothing changed")
        return 1
    except click.ClickException as e:
        # usage errors are errors like any other: exit 1, never click's 2
        msg = e.format_message()
        if isinstance(e, click.UsageError) and e.ctx is not None:
            sys.stderr.write(e.ctx.get_usage() + "\n")
        _err(msg)
        if _apply_json(e, args):  # apply --format json prints its one document whatever happens
            from .errors import Refused
            from .views import ApplyReport

            sys.stdout.write(ApplyReport(None).dumps(1, error=Refused(f"{msg} (a usage error: nothing changed)")))
        return 1
    except SpecError as e:
        for problem in e.problems:
            sys.stderr.write(redact(f"error: {problem}") + "\n")
        return 1
    except BorgconfError as e:
        _err(str(e))
        return 1
    except KeyboardInterrupt:
        _err("interrupted")
        return 1
    except Exception as e:  # a bug: say so, keep the traceback for -v
        if verbose:
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        _err(f"internal error ({type(e).__name__}: {e}); run with -v for the traceback and report it")
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
