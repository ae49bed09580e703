"""The writes ingestion sends most, served without FastAPI's route matching and solving.

A create, a PUT and a bulk of ML model services are most of what ingestion sends. For those,
FastAPI's matching (every route of every router is tried in turn) and its solving of the
route's parameters cost more than a fifth of the request. Each route registered here keeps its
FastAPI route (for the OpenAPI document, and for every request the hot handler leaves alone);
the handler calls the same endpoint with the same arguments FastAPI would give it.

A handler answers, or returns None to leave the request to FastAPI: a request it does not
recognise as the simple case (a query string, a body that is not a JSON array) goes the
usual way, with the body it may have read handed on unchanged, so that FastAPI's answers (its
errors above all) stay exactly what they were.

The table sits where the app's router is called: inside the exception middleware (errors are
rendered by the app's handlers, as for any route) and inside every middleware of the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response | None]]

# The hot handlers of each router (by id: routers are not hashable), by method and path.
_REGISTERED: dict[int, dict[tuple[str, str], Handler]] = {}


def register(
    router: APIRouter, method: str, path: str, endpoint: Callable[..., Any], handler: Handler
) -> None:
    """Serve `method router.prefix+path` with `handler`, in every app that includes `router`.

    `endpoint` is the FastAPI route's: it must be the one FastAPI would choose for the path,
    so that no route declared before it (a path parameter that also matches) is bypassed.
    """
    full = router.prefix + path
    chosen = next(
        (
            route
            for route in router.routes
            if isinstance(route, APIRoute)
            and method in (route.methods or ())
            and route.path_regex.match(full)
        ),
        None,
    )
    if chosen is None or chosen.endpoint is not endpoint:
        raise ValueError(f"{method} {full} is not served by {endpoint.__qualname__} first")
    _REGISTERED.setdefault(id(router), {})[(method, full)] = handler


class HotPaths:
    """Dispatch by exact method and path to a hot handler, else to the router."""

    def __init__(self, app: ASGIApp, table: dict[tuple[str, str], Handler]) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            handler = self.table.get((scope["method"], scope["path"]))
            if handler is not None:
                request = Request(scope, receive, send)
                response = await handler(request)
                if response is not None:
                    await response(scope, receive, send)
                    return
                receive = _replaying(request, receive)
        await self.app(scope, receive, send)


def _replaying(request: Request, receive: Receive) -> Receive:
    """`receive`, giving back first the body the handler read (if it read it)."""
    body: bytes | None = getattr(request, "_body", None)
    if body is None:
        return receive
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: FastAPI, routers: Iterable[tuple[APIRouter, str]]) -> None:
    """Put the hot handlers of `routers` (each with the prefix it is included under) in
    front of the app's router."""
    table: dict[tuple[str, str], Handler] = {}
    for router, prefix in routers:
        for (method, path), handler in _REGISTERED.get(id(router), {}).items():
            table[(method, prefix + path)] = handler
    if table:
        inner: Any = app.router.middleware_stack
        app.router.middleware_stack = HotPaths(inner, table)
