"""Small real servers that stand in for a predictor where the real one cannot show the case:
one that records what reaches it and answers as told (headers, 5xx, segmentation), and a TCP
listener that accepts connections and never answers (timeouts)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def echo_upper(path: str, body: Any) -> Answer:
    """Translate by upper-casing: V1 `{"instances"}` or V2 `{"inputs"}` like the predictor."""
    if path.endswith(":predict"):
        return Answer(200, {"predictions": [text.upper() for text in body["instances"]]})
    texts = body["inputs"][0]["data"]
    output = {"name": "translation", "datatype": "BYTES", "shape": [len(texts)]}
    return Answer(200, {"outputs": [{**output, "data": [t.upper() for t in texts]}]})


class RecordingUpstream:
    """HTTP server on 127.0.0.1 (free port) answering infer calls with `answer(path, body)`;
    readiness GETs answer 200 `{"ready": true}`."""

    def __init__(self, answer: Callable[[str, Any], Answer] = echo_upper) -> None:
        self.answer = answer
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self._send(Answer(200, {"name": "translator", "ready": True}))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                with upstream._lock:
                    upstream.requests.append(
                        Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                 body)
                    )
                self._send(upstream.answer(self.path, body))

            def _send(self, answer: Answer) -> None:
                body = answer.body
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(answer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def infer_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def __enter__(self) -> RecordingUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class SilentListener:
    """Accepts TCP connections on 127.0.0.1 and never answers (holds them until closed)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                connection, _ = self._socket.accept()
                self._held.append(connection)

    def __enter__(self) -> SilentListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._socket.close()
