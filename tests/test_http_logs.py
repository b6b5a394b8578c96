"""The shared HTTP client keeps credentials out of httpx's and httpcore's own debug logs."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cadence.sources.http import Http

TOKEN = "tok-SECRET-4711"


class EchoAuth(BaseHTTPRequestHandler):
    """A hostile server that sends our Authorization header back as a response header."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("X-Echo", self.headers["Authorization"])
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_an_echoed_token_is_redacted_from_library_debug_logs(caplog):
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoAuth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with caplog.at_level(logging.DEBUG):
            with Http(f"http://127.0.0.1:{server.server_address[1]}", headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                assert http.get_json("/anything") == {}
    finally:
        server.shutdown()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "X-Echo" in logged and "[redacted]" in logged
    assert TOKEN not in logged
