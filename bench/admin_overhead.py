"""What the admin API's middleware adds to a request, in process: CPU microseconds a request.

Drives AdminMiddleware around an ASGI app that answers at once, so only the middleware's
own work is measured: the fault check with no rules, with a rule that does not match, and
the journal's insert. With the admin API off the middleware is not installed at all.

    .venv/bin/python bench/admin_overhead.py --db sqlite
    .venv/bin/python bench/admin_overhead.py --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.datastructures import State

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from profile_app import database  # noqa: E402

PATH = "/api/v1/services/mlmodelServices/name/bench-target"


async def answer_at_once(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def call(app: Any, token: str) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": PATH,
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    await app(scope, receive, send)


def per_request(app: Any, token: str, n: int, repeat: int) -> float:
    async def rounds() -> float:
        best = float("inf")
        for _ in range(repeat):
            cpu = time.process_time()
            for _ in range(n):
                await call(app, token)
            best = min(best, (time.process_time() - cpu) / n * 1e6)
        return best

    return asyncio.run(rounds())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    args = parser.parse_args()

    from mlmodel_emulator.admin import faults
    from mlmodel_emulator.admin.faults import CreateFault
    from mlmodel_emulator.admin.middleware import AdminMiddleware
    from mlmodel_emulator.auth import tokens
    from mlmodel_emulator.auth.keys import load_signing_keys
    from mlmodel_emulator.cli import migrate
    from mlmodel_emulator.config import Settings
    from mlmodel_emulator.db.engine import make_engine
    from mlmodel_emulator.db.session import Database

    with tempfile.TemporaryDirectory() as tmp, database(args.db, Path(tmp), args.pg) as url:
        settings = Settings(database_url=url, data_dir=Path(tmp))
        migrate(settings)
        keys = load_signing_keys(settings)
        state = State()
        state.database = Database(make_engine(url))
        state.verifier = tokens.TokenVerifier(keys, settings.jwt_issuer)
        token = tokens.mint(
            keys, issuer=settings.jwt_issuer, user="admin", now=int(time.time()), expires_in=None
        )
        try:
            results = [("app alone", per_request(answer_at_once, token, args.n, args.repeat))]
            for label, capacity in (("no rules, no journal", 0), ("no rules, journal", 1000)):
                app = AdminMiddleware(answer_at_once, state, capacity)
                results.append((label, per_request(app, token, args.n, args.repeat)))
            rule = CreateFault(path=f"/api/other/{secrets.token_hex(4)}/*", status=503)
            state.database.write(faults.create, rule, now_us=time.time_ns() // 1000)
            app = AdminMiddleware(answer_at_once, state, 0)
            cpu = per_request(app, token, args.n, args.repeat)
            results.append(("a rule, no match, no journal", cpu))
        finally:
            state.database.dispose()
    bare = results[0][1]
    print(f"{args.db}: CPU µs a request (best of {args.repeat} rounds of {args.n})")
    for label, cpu in results:
        print(f"  {label:32} {cpu:8.1f}   (+{cpu - bare:.1f})")


if __name__ == "__main__":
    main()
