"""Per-request CPU time of the service and the baseline, in process, without an HTTP server.

Drives the ASGI apps directly with the benchmark's requests and prints microseconds of this
process's CPU per request (the database server's own CPU, on PostgreSQL, is not counted).
Steadier than wrk on a busy machine; use it to choose changes, then confirm with run.py.

    .venv/bin/python bench/profile_app.py --db sqlite --workload create
    .venv/bin/python bench/profile_app.py --db postgres --workload bulk --cprofile
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

COLLECTION = "/api/v1/services/mlmodelServices"
CONNECTION = {
    "config": {"trackingUri": "http://localhost:5000", "registryUri": "http://localhost:8080"}
}
TARGET = "bench-target"


class Workload:
    """The requests of one wrk script, generated the same way."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tag = secrets.token_hex(4)
        self.n = 0

    def request(self) -> tuple[str, str, bytes]:
        self.n += 1
        if self.name == "create":
            body = {"name": f"svc-{self.tag}-{self.n}", "serviceType": "Mlflow"}
            return "POST", COLLECTION, orjson.dumps({**body, "connection": CONNECTION})
        if self.name == "put":
            body = {"name": TARGET, "serviceType": "Mlflow", "description": f"rev {self.n}"}
            return "PUT", COLLECTION, orjson.dumps({**body, "connection": CONNECTION})
        if self.name == "bulk":
            items = []
            for _ in range(100):
                self.n += 1
                items.append(
                    {"name": f"bulk-{self.tag}-{self.n}", "serviceType": "Mlflow"}
                    | {"connection": CONNECTION}
                )
            return "PUT", COLLECTION + "/bulk", orjson.dumps(items)
        return "GET", f"{COLLECTION}/name/{TARGET}", b""


async def call(app: Any, method: str, path: str, body: bytes, token: str) -> tuple[int, bytes]:
    headers = [
        (b"host", b"127.0.0.1:8585"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8585),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {}
    async with app.router.lifespan_context(app) as maybe_state:
        state.update(maybe_state or {})
        yield state


@contextlib.contextmanager
def database(kind: str, directory: Path, pg: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.sqlite'}"
        return
    import psycopg
    from psycopg import sql

    name = f"mlprofile_{secrets.token_hex(4)}"
    with psycopg.connect(f"postgresql://{pg}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{pg}/{name}"
    finally:
        with psycopg.connect(f"postgresql://{pg}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def service_app(url: str, data_dir: Path) -> tuple[Any, str]:
    os.environ.pop("DATABASE_URL", None)
    from mlmodel_emulator.auth import tokens
    from mlmodel_emulator.auth.keys import load_signing_keys
    from mlmodel_emulator.cli import migrate
    from mlmodel_emulator.config import Settings
    from mlmodel_emulator.main import create_app

    settings = Settings(database_url=url, data_dir=data_dir)
    migrate(settings)
    token = tokens.mint(
        load_signing_keys(settings),
        issuer=settings.jwt_issuer,
        user="admin",
        now=int(time.time()),
        expires_in=None,
    )
    return create_app(settings), token


def baseline(url: str) -> tuple[Any, str]:
    import baseline_app

    return baseline_app.create_app(url), "ignored"


gc_time: list[float] = []
_gc_started = [0.0]


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        gc_time.append(time.perf_counter() - _gc_started[0])


async def measure(
    app: Any, token: str, workload: Workload, n: int, profile: cProfile.Profile | None
) -> tuple[float, float]:
    async with lifespan(app):
        target = {"name": TARGET, "serviceType": "Mlflow", "connection": CONNECTION}
        status, answer = await call(app, "PUT", COLLECTION, orjson.dumps(target), token)
        assert status < 300, answer
        for _ in range(max(n // 10, 5)):
            status, answer = await call(app, *workload.request(), token)
            assert status < 300, answer
        requests = [workload.request() for _ in range(n)]
        if profile is not None:
            profile.enable()
        gc_time.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        for request in requests:
            status, answer = await call(app, *request, token)
            if status >= 300 or (workload.name == "bulk" and b'"status":"success"' not in answer):
                raise SystemExit(f"{status} {answer[:400]!r}")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"  {len(gc_time)} collections, {sum(gc_time) / n * 1e6:.1f} µs a request")
        if profile is not None:
            profile.disable()
    return cpu / n * 1e6, wall / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workload", choices=("create", "put", "bulk", "get"), default="create")
    parser.add_argument("--app", choices=("service", "baseline", "both"), default="both")
    parser.add_argument("-n", type=int, default=0, help="requests (default 3000, bulk 200)")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds; best is kept")
    parser.add_argument("--cprofile", action="store_true", help="profile the service rounds")
    parser.add_argument("--cprofile-out", help="also write the profile to this pstats file")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    args = parser.parse_args()
    n = args.n or (200 if args.workload == "bulk" else 3000)
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:
        runner = asyncio.run

    import gc

    gc.callbacks.append(_gc_callback)
    # The baseline first: the service freezes the heap it starts with (gc.freeze), and that
    # would spare the baseline's collections too.
    apps = ("baseline", "service") if args.app == "both" else (args.app,)
    results: dict[str, tuple[float, float]] = {}
    profile = cProfile.Profile() if args.cprofile else None
    for which in apps:
        with tempfile.TemporaryDirectory() as tmp, database(args.db, Path(tmp), args.pg) as url:
            app, token = service_app(url, Path(tmp)) if which == "service" else baseline(url)
            best: tuple[float, float] | None = None
            for _ in range(args.repeat):
                got = runner(
                    measure(
                        app,
                        token,
                        Workload(args.workload),
                        n,
                        profile if which == "service" else None,
                    )
                )
                best = got if best is None or got[0] < best[0] else best
            assert best is not None
            results[which] = best
    for which, (cpu, wall) in sorted(results.items(), reverse=True):
        print(
            f"{args.db} {args.workload} {which}: {cpu:8.1f} µs CPU a request, {wall:8.1f} µs wall"
        )
    if len(results) == 2:
        print(f"ratio (baseline/service CPU): {results['baseline'][0] / results['service'][0]:.2f}")
    if profile is not None:
        if args.cprofile_out:
            profile.dump_stats(args.cprofile_out)
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
