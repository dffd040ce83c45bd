#!/usr/bin/env python3
"""Capture a server's config facts into tests/redis-facts/<server-key>/ (re-runnable).

    .venv/bin/python tests/capture_facts.py valkey-8.1 valkey-9.1   # facts as in redis-facts/README.md
    .venv/bin/python tests/capture_facts.py --sweep-only redis-7.0  # only sweep.json

For each server key (see tests/redis_servers.py: "redis-7.0", "redis-8.2",
"valkey-8.1", "valkey-9.1") it starts throwaway servers on free loopback
ports in a temp dir (never 6379, stopped by PID) from the base config file of
redis-facts/README.md and writes:

* version.txt, config-get.json, info-server.txt, commands.json (fresh instance);
* mutability.json (second instance: CONFIG SET of every name to its own value);
* normalization.json: the experiment list of redis-facts/redis-7.0/normalization.json
  replayed in order (entries noted "[instance started with enable-protected-configs
  yes]" on a second instance with that line; port numbers of the original are
  replaced by this run's: the instance's own port, and a port this script holds
  a plain TCP listener on);
* config-file.json: the cases of redis-facts/redis-7.0/config-file.json replayed
  (each on a new instance from base config + config_lines);
* sweep.json: the value sweep of borgconf's catalog (see :func:`sweep_values`):
  for every parameter a server reports, each sweep value sent with CONFIG SET on
  a throwaway instance, the server's accept/reject recorded, and the old value
  put back.  tests/unit/test_catalog.py replays it offline against borgconf's
  validation.

All commands go through a minimal raw RESP2 client, so replies and error texts
are what the server sent.  Temp-dir paths in output are replaced by ``<dir>``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from redis_servers import find_binaries  # noqa: E402

FACTS = HERE / "redis-facts"
TEMPLATE = "redis-7.0"  # whose experiment lists are replayed
PROTECTED_NOTE = "[instance started with enable-protected-configs yes]"


# ------------------------------------------------------------------ raw RESP2


class RespError(Exception):
    pass


class Resp:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:].decode("utf-8", "replace")
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f"unexpected RESP reply {line!r}")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            b = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(out)
        return self._read()


def reply_json(r):
    if isinstance(r, RespError):
        return {"error": str(r)}
    if isinstance(r, list):
        return [reply_json(x) for x in r]
    return r


# ------------------------------------------------------------------ servers


BASE_PORTS = {"redis-7.0": 21000, "redis-8.2": 22000, "valkey-8": 23000, "valkey-8.1": 24000, "valkey-9.1": 25000}


class Instance:
    """A throwaway server from the README's base config (+ extra lines) in its own temp dir.

    Listens on 127.0.0.1:<port> (the README's base port + offset when free,
    else any free port), is only used once INFO reports its PID, and is
    stopped by PID.
    """

    def __init__(self, binary: str, root: Path, name: str, extra=(), port: int | None = None):
        self.binary = binary
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.extra = list(extra)
        self.port = port if port is not None and _port_free(port) else _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self):
        conf = [f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}", "appendonly no", 'save ""',
                "daemonize no", f"logfile {self.dir}/server.log", *self.extra]
        cfg = self.dir / "server.conf"
        cfg.write_text("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([self.binary, str(cfg)], cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        conn = _wait(self.port, self.proc)
        if conn is None:
            self.stop()
            raise RuntimeError(f"{self.binary} did not start on port {self.port}; see {self.dir}/server.log")
        self.conn = conn
        return self

    def stop(self):
        try:
            self.conn.close()
        except Exception:
            pass
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def scrub(obj, tmp: str):
    if isinstance(obj, str):
        return obj.replace(tmp, "<dir>")
    if isinstance(obj, list):
        return [scrub(x, tmp) for x in obj]
    if isinstance(obj, dict):
        return {k: scrub(v, tmp) for k, v in obj.items()}
    return obj


def config_dict(conn: Resp) -> dict[str, str]:
    flat = conn.call("CONFIG", "GET", "*")
    return dict(sorted(zip(flat[::2], flat[1::2])))


# ------------------------------------------------------------------ captures


def capture_basic(binary: str, root: Path, out: Path, key: str) -> None:
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    (out / "version.txt").write_text(version)
    inst = Instance(binary, root, "main", port=BASE_PORTS.get(key)).start()
    tmp = str(inst.dir)
    try:
        (out / "config-get.json").write_text(json.dumps(scrub(config_dict(inst.conn), tmp), indent=1, sort_keys=True) + "\n")
        info = inst.conn.call("INFO", "server").replace("\r\n", "\n")
        (out / "info-server.txt").write_text(scrub(info, tmp))
        commands = sorted(inst.conn.call("COMMAND", "LIST"))
        (out / "commands.json").write_text(json.dumps(commands, indent=1) + "\n")
    finally:
        inst.stop()

    inst = Instance(binary, root, "mutability", port=BASE_PORTS.get(key, 0) + 100).start()
    try:
        before = config_dict(inst.conn)
        result = {}
        for name, value in before.items():
            r = inst.conn.call("CONFIG", "SET", name, value)
            result[name] = "ok" if r == "OK" else str(r)
        after = config_dict(inst.conn)
        changed = sorted(k for k in before if before[k] != after.get(k))
        if changed:
            print(f"  note: CONFIG GET * differs after the mutability loop for {changed}", file=sys.stderr)
        (out / "mutability.json").write_text(json.dumps(scrub(result, str(inst.dir)), indent=1, sort_keys=True) + "\n")
    finally:
        inst.stop()


def capture_normalization(binary: str, root: Path, out: Path, key: str) -> None:
    template = json.loads((FACTS / TEMPLATE / "normalization.json").read_text())
    tmpl_port = _template_port()
    base = BASE_PORTS.get(key, 0)
    main = Instance(binary, root, "norm", port=base).start()
    prot = Instance(binary, root, "norm-protected", ["enable-protected-configs yes"], port=base + 500).start()
    for sub_dir in ("a", "b"):  # the dir experiments move between these two
        (prot.dir / sub_dir).mkdir()
    holder = socket.socket()
    holder.bind(("127.0.0.1", base + 501 if base and _port_free(base + 501) else 0))
    holder.listen(1)
    held = holder.getsockname()[1]
    results = []
    try:
        for e in template:
            on_prot = str(e.get("note", "")).startswith(PROTECTED_NOTE)
            inst = prot if on_prot else main
            tmp = str(inst.dir)

            def sub(v: str) -> str:
                v = v.replace("<dir>", tmp)
                if v == str(tmpl_port):
                    return str(inst.port)
                if v == str(tmpl_port + 501):
                    return str(held)
                return v

            entry: dict = {}
            if "param" in e:
                p, value = e["param"], sub(e["set_value"])
                entry["param"] = p
                entry["set_value"] = scrub(value, tmp)
                entry["get_value_before"] = _get1(inst.conn, p)
                r = inst.conn.call("CONFIG", "SET", p, value)
                if isinstance(r, RespError):
                    entry["error"] = str(r)
                else:
                    entry["set_reply"] = r
                entry["get_value_after"] = _get1(inst.conn, p)
                for k in e:
                    if k.startswith("get_value_after["):
                        alias = k[len("get_value_after[") : -1]
                        entry[k] = _get1(inst.conn, alias)
            else:
                cmd = [sub(str(x)) for x in e["command"]]
                entry["command"] = scrub(cmd, tmp)
                entry["reply"] = reply_json(inst.conn.call(*cmd))
            if on_prot:
                entry["note"] = PROTECTED_NOTE + " "
            results.append(scrub(entry, tmp))
    finally:
        holder.close()
        main.stop()
        prot.stop()
    (out / "normalization.json").write_text(json.dumps(results, indent=1) + "\n")


def _template_port() -> int:
    for line in (FACTS / TEMPLATE / "info-server.txt").read_text().splitlines():
        if line.startswith("tcp_port:"):
            return int(line.split(":")[1])
    return 21000


def _get1(conn: Resp, name: str):
    r = conn.call("CONFIG", "GET", name)
    if isinstance(r, RespError):
        return {"error": str(r)}
    d = dict(zip(r[::2], r[1::2]))
    return d.get(name, d.get(name.lower()))


# Cases run after the template's (they are not in the first three folders).
EXTRA_CASES = [
    {
        "case": "masterauth and masteruser in file: the names CONFIG REWRITE writes",
        "config_lines": ["masterauth filepw", "masteruser repl"],
        "replies": [{"command": ["CONFIG", "GET", "masterauth"]}, {"command": ["CONFIG", "GET", "primaryauth"]}],
        "rewrite_reply": "OK",
        "match": ["masterauth", "masteruser", "primaryauth", "primaryuser"],
    },
]


def capture_config_file(binary: str, root: Path, out: Path, key: str) -> None:
    template = json.loads((FACTS / TEMPLATE / "config-file.json").read_text()) + EXTRA_CASES
    results = []
    for i, case in enumerate(template):
        d = root / f"cf-{i}"
        d.mkdir(parents=True)
        lines = list(case["config_lines"])
        words = {ln.split()[0].lower() for ln in lines if ln.split()}
        port = BASE_PORTS[key] + 600 if key in BASE_PORTS and _port_free(BASE_PORTS[key] + 600) else _free_port()
        conf = [f"port {port}", f"dir {d}", "appendonly no", "daemonize no", f"logfile {d}/server.log"]
        if "bind" not in words:
            conf.append("bind 127.0.0.1")
        if "save" not in words:
            conf.append('save ""')
        conf += lines
        cfg = d / "server.conf"
        cfg.write_text("\n".join(conf) + "\n")
        entry = {"case": case["case"], "config_lines": lines}
        proc = subprocess.Popen([binary, str(cfg)], cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            conn = _wait(port, proc)
            if conn is None:
                output = proc.communicate(timeout=10)[0].decode(errors="replace")
                log = (d / "server.log").read_text(errors="replace") if (d / "server.log").exists() else ""
                entry["start"] = "failed"
                entry["error_output"] = [ln for ln in (output + log).splitlines() if ln.strip()]
            else:
                entry["start"] = "ok"
                entry["replies"] = [
                    {"command": r["command"], "reply": reply_json(conn.call(*[str(x) for x in r["command"]]))}
                    for r in case.get("replies", [])
                ]
                if "log_lines" in case:
                    log = (d / "server.log").read_text(errors="replace")
                    entry["log_lines"] = [ln for ln in log.splitlines() if "maxclients" in ln or "open files" in ln]
                if "rewrite_reply" in case:
                    rr = conn.call("CONFIG", "REWRITE")
                    entry["rewrite_reply"] = "OK" if rr == "OK" else str(rr)
                    text = cfg.read_text()
                    if "file_after_rewrite" in case:
                        entry["file_after_rewrite"] = text.splitlines()
                    else:
                        wanted = set(case.get("match", ())) | {x.split()[0].lower() for x in lines if x.split()}
                        entry["file_after_rewrite_matching_lines"] = [
                            ln for ln in text.splitlines() if ln.split() and ln.split()[0].lower() in wanted
                        ]
                conn.close()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        results.append(scrub(entry, str(d)))
    (out / "config-file.json").write_text(json.dumps(results, indent=1) + "\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            conn = Resp(port)
            info = conn.call("INFO", "server")
            if isinstance(info, str) and f"process_id:{proc.pid}\r" in info:
                return conn
            if isinstance(info, RespError) and str(info).startswith("NOAUTH") and proc.poll() is None:
                return conn  # requirepass in the file: our process (it is alive and the port is ours)
            conn.close()
        except OSError:
            pass
        time.sleep(0.05)
    return None


# ------------------------------------------------------------------ the sweep


def sweep_values(name: str, entry: dict) -> list[str]:
    """Boundary and odd values for one catalog parameter, by its type (issue 10)."""
    t = entry["type"]
    odd = ["", " ", "x y", "-1", "1.5", "abc"]
    if t == "bool":
        return ["yes", "no", "YES", "true", "false", "1", "0", "on", "maybe", ""]
    if t == "int" and entry.get("octal"):
        return ["770", "0770", "777", "1000", "8", "-1", "0", ""]
    if t == "int":
        vals = ["0", "1", "-1", "1.5", "1k", "abc", "", " 5", "9223372036854775807", "9223372036854775808"]
        for b in ("min", "max"):
            v = entry.get(b)
            if isinstance(v, (int, float)) and abs(v) < 2**63:
                vals += [str(int(v) - 1), str(int(v)), str(int(v) + 1)]
        for lo, hi in [entry["clamp"]] if entry.get("clamp") else []:
            vals += [str(lo - 1), str(lo), str(hi), str(hi + 1)]
        return vals
    if t == "memory":
        vals = ["0", "1", "1k", "1kb", "1KB", "1m", "1mb", "1g", "1gb", "1t", "1tb", "1.5mb", "-1", "abc", "",
                "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
                "8589934592gb", "8589934591gb"]
        if entry.get("percent"):
            vals += ["0%", "1%", "50%", "100%", "101%", "-1%", "10.5%", "%"]
        for b in ("min", "max"):
            v = entry.get(b)
            if isinstance(v, int) and v < 2**63:
                vals += [str(v - 1 if v > 0 else 0), str(v), str(v + 1)]
        return vals
    if t == "enum":
        return list(entry.get("choices", ())) + [c.upper() for c in entry.get("choices", ())[:1]] + ["nothing", "", "x y"]
    if t == "enum-set":
        ch = list(entry.get("choices", ()))
        return ch + [" ".join(ch[:2]), "nothing", ""]
    if t == "keyspace-events":
        return ["", "KEA", "AKE", "KEAn", "n", "Kn", "Ko", "Kc", "Kx", "KEo", "KEc", "KEnm", "Kt", "Kd", "K$", "Kq", "E", "Eg", "K E"]
    if t == "save":
        return ["", "900 1", "900 1 300 10", "0 1", "900", "-1 1", "abc", "900 -1"]
    if t == "client-output-buffer-limit":
        return ["normal 0 0 0", "pubsub 32mb 8mb 60", "replica 1gb 256mb 60", "slave 1 1 1", "other 1 1 1",
                "pubsub 32mb 8mb", "pubsub 1 2 -1", ""]
    if t == "int-list":
        if name == "oom-score-adj-values":
            return ["0 200 800", "+5 0 0", "-1000 0 1000", "-1001 0 0", "0 0 2001", "0 0", "0 0 0 0", "a b c", "", "1.5 0 0"]
        return ["0", "1 2", "", "-1", "abc"]
    if t == "float-list":
        return ["50 99 99.9", "", "0", "100", "100.1", "-1", "abc", "nan", "inf", "1e2"]
    if t == "replicaof":
        return []  # changing replication on a sweep instance is not a value check
    if t == "string":
        if name in ("dir", "dbfilename", "appendfilename", "appenddirname", "logfile", "pidfile", "unixsocket",
                    "aclfile", "cluster-config-file", "bind-source-addr", "bind", "requirepass", "masterauth",
                    "primaryauth", "masteruser", "primaryuser", "rename-command"):
            return []
        vals = ["", "abc", "x y", "C", "en_US.UTF-8", "not-a-locale", "host.example.com", "-", "%s"]
        return vals + STRING_EXTRA.get(name, [])
    return odd


# values aimed at the rules some string parameters have on the servers
STRING_EXTRA = {
    "proc-title-template": [" ", "{title}", "{title} {listen-addr} {server-mode}", "{nope}", "{title", "title}", "{port}{tls-port}"],
    "cluster-announce-hostname": ["node-1.example.com", "a_b", "a:b", "10.0.0.1"],
    "cluster-announce-human-nodename": ["node_1", "a:b", "a-b.c", "a@b"],
    "cluster-announce-ip": ["10.0.0.1", "::1", "a:b", "a@b"],
    "cluster-announce-client-ipv4": ["10.0.0.1", "::1", "256.0.0.1"],
    "cluster-announce-client-ipv6": ["::1", "10.0.0.1", "fe80::1"],
    "locale-collate": ["POSIX", "C.UTF-8", "C.utf8", "en_US"],
}


def capture_sweep(binary: str, root: Path, out: Path, key: str) -> None:
    catalog = json.loads((HERE.parent / "borgconf" / "data" / "params.json").read_text())["params"]
    inst = Instance(binary, root, "sweep", port=BASE_PORTS.get(key, 0) + 700).start()
    results: dict[str, dict[str, str]] = {}
    try:
        live = config_dict(inst.conn)
        for name in sorted(catalog):
            entry = catalog[name]
            cls = entry.get("class_servers", {}).get(key, entry.get("class"))
            if name not in live or cls != "live" or entry.get("sensitive"):
                continue
            if name.startswith("tls-"):
                continue  # no TLS in these builds: the server refuses any TLS change
            original = live[name]
            row = {}
            for value in dict.fromkeys(sweep_values(name, entry)):
                r = inst.conn.call("CONFIG", "SET", name, value)
                if isinstance(r, RespError):
                    row[value] = {"accept": False, "error": str(r)}
                else:
                    row[value] = {"accept": True, "read_back": _get1(inst.conn, name)}
                    back = inst.conn.call("CONFIG", "SET", name, original)
                    if isinstance(back, RespError):
                        raise RuntimeError(f"{key}: could not put {name} back to {original!r}: {back}")
            if row:
                results[name] = row
    finally:
        inst.stop()
    doc = {
        "server": key,
        "how": "tests/capture_facts.py: CONFIG SET <param> <value> on a throwaway instance (live, non-secret,"
               " non-TLS params of the catalog that the server reports); after an accept CONFIG GET <param>"
               " (read_back) and the old value is put back",
        "results": results,
    }
    (out / "sweep.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("servers", nargs="+", help="server keys, e.g. valkey-8.1")
    ap.add_argument("--sweep-only", action="store_true")
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args(argv)
    found = find_binaries()
    for key in args.servers:
        if key not in found:
            print(f"{key}: no binary found", file=sys.stderr)
            return 1
        out = FACTS / key
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"facts-{key}-") as tmp:
            root = Path(tmp)
            print(f"{key}: {found[key]}", file=sys.stderr)
            if not args.sweep_only:
                capture_basic(found[key], root / "a", out, key)
                capture_normalization(found[key], root / "b", out, key)
                capture_config_file(found[key], root / "c", out, key)
            if not args.no_sweep:
                capture_sweep(found[key], root / "d", out, key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
