"""What the admin API does to every other request: fault rules applied, the request journaled.

A pure ASGI middleware, added only when the admin API is on (with it off, requests pay
nothing). A delay is an asyncio sleep: the process serves other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import time

from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlmodel_emulator.admin import journal
from mlmodel_emulator.admin.faults import FaultRules, Rule
from mlmodel_emulator.admin.router import PREFIX
from mlmodel_emulator.auth.tokens import TokenVerifier
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.errors import Unauthorized, error_response

# The admin routes themselves: never faulted, never journaled.
ADMIN_PATH = "/api" + PREFIX


def _is_admin(path: str) -> bool:
    return path.startswith(ADMIN_PATH) and (
        len(path) == len(ADMIN_PATH) or path[len(ADMIN_PATH)] == "/"
    )


def _caller(verifier: TokenVerifier, scope: Scope) -> str | None:
    """The user of a valid bearer token. A route that authenticated the request has left
    the token in the verifier's cache, so it is not verified again."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            try:
                return verifier.principal(value.decode("latin-1")).name
            except Unauthorized:
                return None
    return None


def _storable(text: str) -> str:
    # PostgreSQL's text cannot hold NUL, which a percent-encoded path may carry.
    return text.replace("\x00", "\ufffd")


class AdminMiddleware:
    """Apply the first fault rule that fires on a request; journal every request."""

    def __init__(self, app: ASGIApp, state: State, journal_capacity: int) -> None:
        self.app = app
        self.state = state
        self.capacity = journal_capacity
        self.rules = FaultRules()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_admin(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter_ns()
        database: Database = self.state.database
        rule = await self.rules.pick(database, scope["method"], scope["path"])
        if not self.capacity:
            await self._serve(scope, receive, send, rule)
            return

        at_ms = time.time_ns() // 1_000_000
        status = 0
        recorded = False

        async def write() -> None:
            nonlocal recorded
            recorded = True
            row = {
                "at_ms": at_ms,
                "method": scope["method"][:32],
                "path": _storable(scope["path"]),
                "query": _storable(scope["query_string"].decode("latin-1")),
                "status": status or 500,
                "caller": _caller(self.state.verifier, scope),
                "duration_us": (time.perf_counter_ns() - started) // 1000,
                "pid": os.getpid(),
            }
            await database.awrite(journal.record, row, capacity=self.capacity)

        async def journaling_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and not recorded
            ):
                # Before the answer's end goes out: a client that has it finds the entry.
                await write()
            await send(message)

        try:
            await self._serve(scope, receive, journaling_send, rule)
        except Exception:
            # The server's error handler answers 500 outside this middleware.
            if not recorded:
                await write()
            raise

    async def _serve(self, scope: Scope, receive: Receive, send: Send, rule: Rule | None) -> None:
        if rule is not None:
            if rule.delay_s:
                await asyncio.sleep(rule.delay_s)
            if rule.status is not None:
                await error_response(rule.status, rule.message)(scope, receive, send)
                return
        await self.app(scope, receive, send)
