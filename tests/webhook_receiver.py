"""A webhook endpoint for the tests: a threaded http.server on a free loopback port that
records every request, and answers an error to the first `failures` of them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str
    # How many requests to refuse with a 503 before answering 200.
    failures: int = 0
    status_on_failure: int = 503
    # The request (1 for the first) held unanswered until `release` is set, and then
    # counted as lost: its sender never learns how it went.
    hold_at: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    # Every request, refused ones included.
    attempts: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item.event for item in self.received]

    def wait_for(self, check: Callable[[Receiver], bool], timeout: float = 30.0) -> None:
        """Wait until check(self) holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not check(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"webhook receiver: condition not met; got {self.events()}")
            time.sleep(0.05)

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        self.wait_for(lambda r: len(r.received) >= count, timeout)
        return self.events()


@contextmanager
def webhook_receiver(
    failures: int = 0, status_on_failure: int = 503, hold_at: int | None = None
) -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            item = Received(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            with receiver.lock:
                receiver.attempts.append(item)
                hold = len(receiver.attempts) == receiver.hold_at
            if hold:
                receiver.held.set()
                receiver.release.wait(60)
                return
            with receiver.lock:
                refuse = receiver.failures > 0
                if refuse:
                    receiver.failures -= 1
                else:
                    receiver.received.append(item)
            self.send_response(receiver.status_on_failure if refuse else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    receiver = Receiver(
        url=f"http://{host}:{port}/hook",
        failures=failures,
        status_on_failure=status_on_failure,
        hold_at=hold_at,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
