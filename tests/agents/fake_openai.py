"""A scriptable OpenAI-style HTTP server on localhost, for retry/error logic tests.

Each POST to /v1/chat/completions takes the next scripted answer (status, body,
headers); the last one repeats. GET /v1/models lists ``models`` (404 when None).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion(text: str, finish_reason: str = "stop", logprobs: list | None = None) -> dict:
    """A minimal chat.completion body."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason,
                              "message": {"role": "assistant", "content": text}}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {"object": "chat.completion", "choices": [choice]}


class FakeServer:
    """Threaded HTTP server; ``answers`` is a list of (status, body, headers)."""

    def __init__(self, answers: list[tuple[int, Any, dict]] | None = None, *,
                 models: list[str] | None = ("m",), delay_s: float = 0.0,
                 prefix: str = "/v1") -> None:
        self.answers = list(answers or [(200, completion("ok"), {})])
        self.models = None if models is None else list(models)
        self.delay_s = delay_s
        self.prefix = prefix
        self.bodies: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> tuple[int, Any, dict]:
        with self._lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/v1/models" and fake.models is not None:
                    self._send(200, {"object": "list",
                                     "data": [{"id": m, "object": "model"} for m in fake.models]})
                else:
                    self._send(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != f"{fake.prefix}/chat/completions":
                    self._send(404, {"detail": "Not Found"})
                    return
                with fake._lock:
                    fake.bodies.append(body)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    time.sleep(fake.delay_s)
                    self._send(*fake._next())
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

        return Handler
