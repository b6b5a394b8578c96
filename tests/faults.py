"""Fault injection for the resilience suite: a misbehaving proxy, a process zygote to SIGKILL syncs
cheaply, and table digests to compare warehouses.

- ``FaultProxy`` sits on 127.0.0.1 between cadence and a fake server (tests/jira_server.py or
  tests/github_server.py) and, for the requests a test picks, drops the connection mid-response,
  truncates the JSON, answers 429/502/503 itself, stalls, or echoes the request's Authorization
  header back in an error body (a malicious server). Every request it sees is counted, and a test
  can run a callback on the n-th one (to SIGKILL the client at a known point).
  The hostile behaviours of issue 16 are faults too: ``drip`` (one byte every few seconds),
  ``redirect`` (a 302 whose Location carries the credentials percent-encoded), and ``rewrite``,
  which edits the request or the answer (``Exchange``); tests/hostile_answers.py builds the
  rewrites: a repeated page cursor, the same page again, a 200 error object, a list for an
  object, a low ``total``, nesting 490 levels deep, a 5,000-digit number, terminal control codes
  in an error, and the token echoed inside an issue in every encoding.
- ``Zygote`` is one Python process that has imported cadence once and forks a child per run of
  ``cadence.cli.main(argv)``: each child is a real process running the real CLI, and killing it
  costs no interpreter start-up, so 20 kills stay fast.
- ``digest`` reads every synced table in a canonical order, leaving out what legitimately differs
  between two runs (fetch times, when a problem was first seen, the JQL a page was read with).

Like the fake servers it never imports cadence at module level (the zygote imports it in its own process).
"""

from __future__ import annotations

import base64
import http.client
import random
import shutil
import time
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlparse

import duckdb

HERE = Path(__file__).resolve().parent
_PORT = re.compile(r"http://127\.0\.0\.1:\d+")


# -- the proxy -----------------------------------------------------------------------------------
@dataclass
class Exchange:
    """One request and its answer, as a ``rewrite`` fault sees and changes them."""

    method: str
    path: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Fault:
    """What to do to one request. ``kind``: drop | truncate | status | stall | echo | drip | drip_body |
    redirect | rewrite.

    ``rewrite`` calls ``before(exchange)`` (it may change the path or body sent upstream, or answer
    itself by setting ``status``/``body`` and returning True) and ``after(exchange)`` on the answer.
    """

    kind: str
    status: int = 503
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    before: Callable[[Exchange], bool] | None = None
    after: Callable[[Exchange], None] | None = None


@dataclass
class ProxySeen:
    method: str
    path: str
    fault: str | None


class FaultProxy:
    """``with FaultProxy(upstream_url) as proxy: ... proxy.url ...``.

    ``proxy.plan[n] = Fault(...)`` applies to the n-th request (1-based); ``proxy.every(match, fault)``
    to every request whose path contains ``match`` (until ``clear``). ``on_request(n)`` runs first.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.plan: dict[int, Fault] = {}
        self.rules: list[tuple[str, Fault, list[int], str | None]] = []  # (path part, fault, [remaining or -1, skip], body part)
        self.seen: list[ProxySeen] = []
        self.on_request: Callable[[int], None] | None = None
        self.faults_injected = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def every(self, path_part: str, fault: Fault, times: int = -1, skip: int = 0, body: str | None = None) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path contains ``path_part`` (-1: all),
        after letting ``skip`` of them through; with ``body``, only to requests whose body contains it."""
        with self._lock:
            self.rules.append((path_part, fault, [times, skip], body))

    def clear(self) -> None:
        with self._lock:
            self.plan.clear()
            self.rules.clear()

    def _fault_for(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Fault | None]:
        with self._lock:
            number = len(self.seen) + 1
            fault = self.plan.pop(number, None)
            if fault is None:
                for part, rule, left, in_body in self.rules:
                    if part not in path or left[0] == 0 or (in_body and in_body.encode() not in (body or b"")):
                        continue
                    if left[1] > 0:
                        left[1] -= 1
                        continue
                    left[0] -= 1
                    fault = rule
                    break
            self.faults_injected += fault is not None
            self.seen.append(ProxySeen(method, path, fault.kind if fault else None))
            return number, fault


def _proxy_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            number, fault = proxy._fault_for(method, self.path, body)
            if proxy.on_request is not None:
                proxy.on_request(number)
            if fault and fault.kind == "stall":
                proxy._stop.wait(fault.seconds)
                self.close_connection = True
                return
            if fault and fault.kind == "status":
                return self._send(fault.status, json.dumps({"errorMessages": ["injected"], "message": "injected"}).encode(),
                                  fault.headers)
            if fault and fault.kind == "redirect":
                # A server that sends the client elsewhere with its token in the URL, percent-encoded.
                scheme, _, sent = self.headers.get("Authorization", "").partition(" ")
                token = base64.b64decode(sent).decode().split(":", 1)[-1] if scheme.lower() == "basic" else sent
                sep = "&" if "?" in self.path else "?"
                return self._send(302, b"", {"Location": f"{self.path}{sep}token={quote(token, safe='')}"})
            if fault and fault.kind == "rewrite":
                exchange = Exchange(method, self.path, dict(self.headers), body)
                if fault.before is not None and fault.before(exchange):
                    return self._send(exchange.status, exchange.body, exchange.headers)
                self.path, body = exchange.path, exchange.request_body
                exchange.status, exchange.headers, exchange.body = self._forward(method, body)
                if fault.after is not None:
                    fault.after(exchange)
                return self._send(exchange.status, exchange.body, exchange.headers)
            if fault and fault.kind == "echo":
                # A malicious or broken server that reflects the credentials it was sent.
                sent = self.headers.get("Authorization", "")
                text = {"errorMessages": [f"bad request from {sent}"], "message": f"you sent {sent}",
                        "errors": [{"message": f"credentials {sent} not allowed"}], "headers": dict(self.headers)}
                return self._send(fault.status, json.dumps(text).encode(), {"X-Echo": sent})
            status, headers, data = self._forward(method, body)
            if fault and fault.kind == "truncate":
                return self._send(status, data[: max(1, len(data) // 2)], headers)
            if fault and fault.kind in ("drip", "drip_body"):
                # The answer one byte every `seconds` (drip: the status line and headers too; drip_body:
                # the body only): no single read ever waits long enough to time out.
                head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                try:
                    if fault.kind == "drip_body":
                        self.wfile.write(head.encode())
                        self.wfile.flush()
                    for byte in (data if fault.kind == "drip_body" else head.encode() + data):
                        if proxy._stop.wait(fault.seconds):
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True
                return
            if fault and fault.kind == "drop":
                # Promise the whole body, send half of it, and hang up.
                self.send_response(status)
                self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self._send(status, data, headers)

        def _forward(self, method: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
            target = urlparse(proxy.upstream)
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
                conn.request(method, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                kept = {k: v for k, v in response.getheaders()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server")}
                return response.status, kept, data
            finally:
                conn.close()

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


# -- the zygote ----------------------------------------------------------------------------------
class Zygote:
    """A process that imported cadence once and forks one child per CLI run.

    ``start(argv, env)`` returns the child's pid; ``wait(pid)`` its exit code (negative: the
    signal that killed it); the child's stdout and stderr go to ``out_dir/<pid>.out|.err``.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "faults.py"), str(out_dir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
        assert self._read() == "ready"

    def _read(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the zygote died")
        return line.strip()

    def _ask(self, message: dict[str, Any]) -> str:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def start(self, argv: list[str], env: dict[str, str], cwd: Path, policy: dict[str, float] | None = None) -> int:
        """Fork a child running ``cadence argv``; ``policy`` replaces RetryPolicy defaults in it (shorter
        deadlines and backoff, so that a test of a slow server need not wait the production minutes)."""
        return int(self._ask({"run": argv, "env": env, "cwd": str(cwd), "policy": policy or {}}))

    def wait(self, pid: int) -> int:
        return int(self._ask({"wait": pid}))

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, policy: dict[str, float] | None = None) -> int:
        return self.wait(self.start(argv, env, cwd, policy))

    def output(self, pid: int) -> tuple[str, str]:
        return ((self.out_dir / f"{pid}.out").read_text(), (self.out_dir / f"{pid}.err").read_text())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _zygote_main(out_dir: str) -> None:
    import cadence.cli  # noqa: F401  (imported once, before any fork)
    import cadence.sync.github  # noqa: F401
    import cadence.sync.jira  # noqa: F401

    print("ready", flush=True)
    for line in sys.stdin:
        message = json.loads(line)
        if "wait" in message:
            _, status = os.waitpid(message["wait"], 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(code, flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            _child(message, out_dir)
        print(pid, flush=True)


def _child(message: dict[str, Any], out_dir: str) -> None:
    code = 1
    try:
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        pid = os.getpid()
        out = os.open(f"{out_dir}/{pid}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(f"{out_dir}/{pid}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdin.close()
        from cadence.cli import main

        if message.get("policy"):
            import dataclasses

            from cadence.sources import http

            names = [f.name for f in dataclasses.fields(http.RetryPolicy) if f.name != "sleep"]
            defaults = list(http.RetryPolicy.__init__.__defaults__)
            for name, value in message["policy"].items():
                if name in names:  # an older cadence may lack a field (a deadline): its run shows what it does without
                    defaults[names.index(name)] = value
            http.RetryPolicy.__init__.__defaults__ = tuple(defaults)

        try:
            main(message["run"])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- digests -------------------------------------------------------------------------------------
# What two syncs of the same data must agree on, table by table.
DIGEST_SQL = {
    "teams": "SELECT * FROM teams",
    "statuses": "SELECT * FROM statuses",
    "sprints": "SELECT * FROM sprints",
    "items": "SELECT * FROM items",
    "events": "SELECT * FROM events",
    "snapshots": "SELECT DISTINCT sprint_key, source, key FROM snapshots",
    "raw": "SELECT source, entity, entity_id, md5(regexp_replace(CAST(payload AS VARCHAR), "
           "'http://127\\.0\\.0\\.1:[0-9]+', 'http://server', 'g')) FROM raw",
    "data_quality": "SELECT source, entity, entity_id, problem, detail FROM data_quality",
    "sync_state": "SELECT source, scope, cursor FROM sync_state",
}


def digest(db: Path) -> dict[str, list[tuple]]:
    """Every synced table's rows, sorted, without the columns that differ between equal syncs."""
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return {table: sorted((tuple(map(_local, row)) for row in con.execute(sql).fetchall()), key=repr)
                for table, sql in DIGEST_SQL.items()}


def _local(value: Any) -> Any:
    """The fake servers listen on a new port every time; a URL's port says nothing about the data."""
    return _PORT.sub("http://server", value) if isinstance(value, str) else value


def differences(got: dict[str, list[tuple]], want: dict[str, list[tuple]]) -> dict[str, Any]:
    """Per table that differs: how many rows each side has and a few rows only one side has."""
    found = {}
    for table in want:
        if got[table] != want[table]:
            extra = [r for r in got[table] if r not in want[table]][:3]
            missing = [r for r in want[table] if r not in got[table]][:3]
            found[table] = {"got": len(got[table]), "want": len(want[table]), "extra": extra, "missing": missing}
    return found


if __name__ == "__main__":
    _zygote_main(sys.argv[1])


def copy_db(src: Path, dst: Path) -> None:
    """Copy a warehouse file, with its write-ahead log when there is one."""
    shutil.copy(src, dst)
    if Path(f"{src}.wal").exists():
        shutil.copy(f"{src}.wal", f"{dst}.wal")


@dataclass
class Phase:
    """One kind of sync to kill: where the proxy points, how long and how many requests a clean run
    took, the file it starts from (None: empty) and the digest a clean run ends with."""

    upstream: str
    seconds: float
    requests: int
    start_db: Path | None
    reference: dict[str, list[tuple]]


def kill_and_rerun(zygote: "Zygote", proxy: FaultProxy, argv: Callable[[Path], list[str]], env: dict[str, str],
                   cwd: Path, phases: dict[str, Phase], rng: random.Random, wanted: int) -> tuple[int, int]:
    """SIGKILL syncs, alternating ``first`` and ``incremental`` phases, half at a random moment and half
    while a random request is in flight; after each kill a rerun must give the phase's reference tables.
    Returns (kills, attempts); a run that finished before its kill landed does not count."""
    kills = attempts = 0
    while kills < wanted and attempts < 3 * wanted:
        attempts += 1
        name = "first" if attempts % 2 else "incremental"
        phase = phases[name]
        db = cwd / f"killed-{attempts}.duckdb"
        if phase.start_db is not None:
            copy_db(phase.start_db, db)
        proxy.upstream, proxy.seen = phase.upstream, []
        target: dict[str, int] = {}
        if rng.random() < 0.5:
            nth = rng.randint(1, phase.requests)
            proxy.on_request = lambda n: kill(target["pid"]) if n == nth and "pid" in target else None
            target["pid"] = zygote.start(argv(db), env, cwd)
        else:
            proxy.on_request = None
            target["pid"] = zygote.start(argv(db), env, cwd)
            time.sleep(rng.uniform(0.0, phase.seconds))
            kill(target["pid"])
        code = zygote.wait(target["pid"])
        proxy.on_request = None
        if code != -9:
            assert code == 0, zygote.output(target["pid"])
            continue
        kills += 1
        rerun = zygote.start(argv(db), env, cwd)
        assert zygote.wait(rerun) == 0, zygote.output(rerun)
        assert differences(digest(db), phase.reference) == {}, f"kill {kills} ({name})"
    return kills, attempts
