"""Does the cost of each ML model service read and write stay flat as the table grows?

For each database, start the real service, fill it to --small services, time every operation,
fill it to --large services (PUT /bulk), time again, and print the large/small ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import secrets
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (
    COLLECTION,
    CONNECTION,
    RESULTS_DIR,
    BenchError,
    pg_database,
    say,
    service_server,
)

from mlmodel_emulator.common.paging import Cursor, encode_cursor

MODELS = "/api/v1/mlmodels"
Request = Callable[[int], tuple[str, str, Any]]


class Client:
    """One keep-alive connection, so a sample times the service rather than TCP setup."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, reply = self.call(method, path, body)
        if not 200 <= status < 300:
            raise BenchError(f"{method} {path} gave {status}: {reply[:300]!r}")
        return json.loads(reply) if reply else None


def service_body(name: str, description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "serviceType": "Mlflow", "connection": CONNECTION}
    if description is not None:
        body["description"] = description
    return body


def fill(client: Client, start: int, stop: int, batch: int) -> None:
    """PUT /bulk services fill-<start> .. fill-<stop - 1>, `batch` per request."""
    for first in range(start, stop, batch):
        items = [service_body(f"fill-{i:07d}") for i in range(first, min(first + batch, stop))]
        reply = client.ok("PUT", f"{COLLECTION}/bulk", items)
        if reply.get("status") != "success":
            raise BenchError(f"bulk fill at {first} was {reply.get('status')}: {str(reply)[:300]}")


def operations(client: Client, run: str, size: int) -> dict[str, Request]:
    """The timed requests; each takes the sample index (to make names unique)."""
    deep_name = f"fill-{size - 20:07d}"
    service_id = client.ok("GET", f"{COLLECTION}/name/{deep_name}")["id"]
    after = encode_cursor(Cursor(name=deep_name, id=service_id))  # 19 rows follow it
    model_service = f"fill-{size - 1:07d}"
    q = urllib.parse.quote
    return {
        "list first page": lambda _: ("GET", f"{COLLECTION}?limit=10", None),
        "list deep page": lambda _: ("GET", f"{COLLECTION}?limit=10&after={q(after)}", None),
        "list fields=*": lambda _: ("GET", f"{COLLECTION}?limit=10&fields=*", None),
        "list limit=0": lambda _: ("GET", f"{COLLECTION}?limit=0", None),
        "list include=all": lambda _: ("GET", f"{COLLECTION}?limit=10&include=all", None),
        "GET by name": lambda _: ("GET", f"{COLLECTION}/name/{deep_name}", None),
        "GET by id": lambda _: ("GET", f"{COLLECTION}/{service_id}", None),
        "PUT update": lambda i: ("PUT", COLLECTION, service_body(deep_name, f"d{run}-{size}-{i}")),
        "POST create": lambda i: ("POST", COLLECTION, service_body(f"new-{run}-{size}-{i}")),
        "models ?service=": lambda _: ("GET", f"{MODELS}?limit=10&service={model_service}", None),
    }


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "|".join([" --- "] * 2 + [" ---: "] * 5) + "|",
    ]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def time_ops(client: Client, ops: dict[str, Request], samples: int, warmup: int) -> dict[str, Any]:
    results: dict[str, tuple[float, float]] = {}
    for label, make in ops.items():
        timings = []
        for i in range(warmup + samples):
            method, path, body = make(i)
            t0 = time.perf_counter()
            status, reply = client.call(method, path, body)
            elapsed = (time.perf_counter() - t0) * 1000
            if not 200 <= status < 300:
                raise BenchError(f"{label}: {method} {path} gave {status}: {reply[:300]!r}")
            if i >= warmup:
                timings.append(elapsed)
        timings.sort()
        results[label] = (statistics.median(timings), timings[int(len(timings) * 0.9) - 1])
    return results


def bench(db: str, args: argparse.Namespace, cli: Path, run_id: str) -> list[list[str]]:
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-")))
        url = None
        if db == "postgres":
            url = stack.enter_context(pg_database(args.pg, f"mlmodel_scale_{run_id}"))
        server = stack.enter_context(service_server(cli, data_dir, url, data_dir / "service.log"))
        client = Client(server.base_url, server.token)
        measured = {}
        done = 0
        for size in (args.small, args.large):
            t0 = time.monotonic()
            fill(client, done, size, args.batch)
            say(f"  {db}: filled to {size} in {time.monotonic() - t0:.0f} s")
            done = size
            if size == args.small:
                client.ok("POST", MODELS, {"name": "m0", "service": f"fill-{size - 1:07d}"})
            ops = operations(client, run_id, size)
            measured[size] = time_ops(client, ops, args.samples, args.warmup)
    rows = []
    for label in measured[args.small]:
        (s50, s90), (l50, l90) = measured[args.small][label], measured[args.large][label]
        rows.append(
            [db, label, f"{s50:.2f}", f"{s90:.2f}", f"{l50:.2f}", f"{l90:.2f}", f"{l50 / s50:.2f}x"]
        )
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432", help="user@host:port")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument(
        "--batch", type=int, default=100, help="services per PUT /bulk (at most 100)"
    )
    parser.add_argument("--samples", type=int, default=300, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args(argv)
    if not 0 < args.small < args.large or not 1 <= args.batch <= 100:
        parser.error("need 0 < --small < --large and 1 <= --batch <= 100")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cli = Path(sys.executable).with_name("mlmodel-emulator")
    started_at = dt.datetime.now(dt.UTC)
    run_id = secrets.token_hex(4)
    header = ["db", "operation", f"p50 {args.small}", f"p90 {args.small}"]
    header += [f"p50 {args.large}", f"p90 {args.large}", "p50 ratio"]
    rows: list[list[str]] = []
    failed = False
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        say(f"Scaling {db} ...")
        try:
            rows += bench(db, args, cli, run_id)
        except Exception as exc:  # report it, and still run the other database
            failed = True
            say(f"  {db} failed: {type(exc).__name__}: {exc}")
    settings = (
        f"Run {started_at:%Y-%m-%d %H:%M} UTC: {args.samples} sequential requests per operation "
        f"after {args.warmup} warm-up, one keep-alive connection, 1 server worker; ms."
    )
    say("\n" + settings + "\n" + text_table([header, *rows]))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"scale-{started_at:%Y%m%d-%H%M%S}.md"
    path.write_text(
        f"# mlmodel-emulator scale benchmark\n\n{settings}\n\n{markdown_table([header, *rows])}\n"
    )
    say(f"\nWritten to {path.relative_to(RESULTS_DIR.parent.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
