"""Drive the service and a minimal baseline app with wrk, on SQLite and PostgreSQL, and compare."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
WRK_DIR = BENCH_DIR / "wrk"
COLLECTION = "/api/v1/services/mlmodelServices"
VERSION_PATH = "/api/v1/system/version"
CONNECTION = {
    "config": {"trackingUri": "http://localhost:5000", "registryUri": "http://localhost:8080"}
}
STARTUP_TIMEOUT_S = 60.0
WRK_PREFIX = "WRK_RESULT "
BUSY_MACHINE = 0.10  # share of all cores used by others above which ratios get noisy


@dataclass(frozen=True)
class Workload:
    """One wrk script; target names the pre-created service it reads or updates."""

    name: str
    label: str
    rows_per_request: int = 1
    target: str | None = None


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured; only successful responses count as throughput."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    bad_bodies: int
    socket_errors: int
    first_failure: str

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def failures(self) -> int:
        return self.non_2xx + self.bad_bodies + self.socket_errors

    @property
    def ok_per_s(self) -> float:
        ok = self.requests - self.non_2xx - self.bad_bodies
        return ok / self.duration_s if self.duration_s else 0.0


@dataclass(frozen=True)
class Server:
    """A running HTTP server under test."""

    label: str
    base_url: str
    token: str


@dataclass
class DatabaseReport:
    """Results for one database, or the error that stopped it."""

    db: str
    detail: str
    rows: list[tuple[Workload, WrkResult, WrkResult]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[Any]) -> None:
    """End a process started in its own session, and its children: TERM, then KILL."""
    if process.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def http(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, bytes]:
    """One request; any HTTP status is returned, never raised."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(process: subprocess.Popen[bytes], base_url: str, log: Path, label: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{label} exited with {process.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(OSError):
            if http("GET", base_url + VERSION_PATH)[0] == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{label} not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{log_tail(log)}")


@contextlib.contextmanager
def started(
    label: str, command: Sequence[str], env: dict[str, str], log: Path, port: int
) -> Iterator[str]:
    """Start a server in its own session, wait until it answers, and always stop it."""
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_ready(process, base_url, log, label)
        yield base_url
    finally:
        stop(process)


def run_cli(cli: Path, args: Sequence[str], env: dict[str, str], timeout_s: float = 120) -> str:
    try:
        done = subprocess.run(
            [str(cli), *args], env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`mlmodel-emulator {' '.join(args)}` timed out") from exc
    if done.returncode != 0:
        raise BenchError(
            f"`mlmodel-emulator {' '.join(args)}` exited with {done.returncode}:\n"
            + (done.stderr or done.stdout)[-2000:]
        )
    return done.stdout


def clean_env() -> dict[str, str]:
    """The caller's environment without any setting that would steer the service elsewhere."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MLMODEL_EMULATOR_") and key != "DATABASE_URL"
    }


@contextlib.contextmanager
def service_server(
    cli: Path, data_dir: Path, database_url: str | None, log: Path
) -> Iterator[Server]:
    """The real service: migrate (PostgreSQL), serve with 1 worker, then mint an admin token."""
    env = clean_env() | {"MLMODEL_EMULATOR_DATA_DIR": str(data_dir)}
    if database_url:
        env["DATABASE_URL"] = database_url
        run_cli(cli, ["migrate"], env)
    port = free_port()
    command = [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with started("service", command, env, log, port) as base_url:
        out = run_cli(cli, ["token", "admin"], env).split()
        if not out or out[-1].count(".") != 2:
            raise BenchError(f"`mlmodel-emulator token admin` printed no JWT: {out!r}")
        yield Server("service", base_url, out[-1])


@contextlib.contextmanager
def baseline_server(label: str, database_url: str, log: Path) -> Iterator[Server]:
    port = free_port()
    command = [
        sys.executable,
        str(BENCH_DIR / "baseline_app.py"),
        "--port",
        str(port),
        "--database-url",
        database_url,
    ]
    with started(label, command, clean_env(), log, port) as base_url:
        yield Server(label, base_url, "baseline-ignores-tokens")


@contextlib.contextmanager
def pg_database(server: str, name: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards whatever happened."""
    import psycopg
    from psycopg import sql

    admin = f"postgresql://{server}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{server}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def delayed(database_url: str, args: argparse.Namespace, work: Path, label: str) -> Iterator[str]:
    """The database URL rewritten to go through bench/latency_proxy.py, which holds each
    chunk for half of --pg-latency-ms in each direction."""
    server = args.pg.rpartition("@")[2]
    port = free_port()
    command = [
        sys.executable,
        str(BENCH_DIR / "latency_proxy.py"),
        "--listen",
        f"127.0.0.1:{port}",
        "--target",
        server,
        "--delay-ms",
        str(args.pg_latency_ms / 2),
    ]
    log = work / f"proxy-{label}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"latency proxy did not start:\n{log_tail(log)}")
            time.sleep(0.05)
        yield database_url.replace(f"@{server}/", f"@127.0.0.1:{port}/", 1)
    finally:
        stop(process)


def round_trip_ms(database_url: str, samples: int = 200) -> float:
    """The median time of `SELECT 1` on one connection to the database at this URL."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), connect_timeout=10) as conn:
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def pg_version(server: str) -> str:
    import psycopg

    with psycopg.connect(f"postgresql://{server}/postgres", connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def background_cpu(seconds: float = 0.5) -> float | None:
    """Share of all cores busy over a short idle moment of ours: other work on the machine."""

    def busy_and_total() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        return sum(ticks) - idle, sum(ticks)

    try:
        busy0, total0 = busy_and_total()
        time.sleep(seconds)
        busy1, total1 = busy_and_total()
    except (OSError, ValueError, IndexError):
        return None
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else None


def run_wrk(
    server: Server, workload: Workload, seconds: float, connections: int, threads: int
) -> WrkResult:
    """One bounded wrk run; the Lua script's done() prints the WRK_RESULT line parsed here."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_DIR / f"{workload.name}.lua"),
        server.base_url,
        "--",
        server.token,
        *([workload.target] if workload.target else []),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=seconds + 60)
    finally:
        stop(process)
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith(WRK_PREFIX)), None)
    if process.returncode != 0 or line is None:
        raise BenchError(
            f"wrk {workload.name} against {server.label} failed ({process.returncode}):\n"
            + text[-1500:]
            + err.decode(errors="replace")[-1500:]
        )
    raw = json.loads(line[len(WRK_PREFIX) :])
    return WrkResult(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        statuses={int(k): v for k, v in raw["statuses"].items()},
        bad_bodies=raw["bad_bodies"],
        socket_errors=raw["socket_errors"],
        first_failure=raw["first_failure"],
    )


def precreate(server: Server, names: Sequence[str]) -> list[str]:
    """POST the services the workloads read or update; returns what went wrong, if anything."""
    problems = []
    for name in names:
        body = {"name": name, "serviceType": "Mlflow", "connection": CONNECTION}
        status, reply = http("POST", server.base_url + COLLECTION, server.token, body)
        if not 200 <= status < 300:
            problems.append(f"{server.label}: pre-creating {name} gave {status}: {reply[:300]!r}")
    return problems


def entity_version(server: Server, name: str) -> float | None:
    status, reply = http("GET", f"{server.base_url}{COLLECTION}/name/{name}", server.token)
    if status != 200:
        return None
    version = json.loads(reply).get("version")
    return float(version) if isinstance(version, int | float) else None


def start_servers(
    stack: contextlib.ExitStack,
    db: str,
    args: argparse.Namespace,
    cli: Path,
    run_id: str,
    notes: list[str],
) -> tuple[Server, Server]:
    """Fresh databases and both servers, each left on the stack to be cleaned up."""
    work = Path(tempfile.mkdtemp(prefix=f"mlbench-{db}-"))
    stack.callback(shutil.rmtree, work, ignore_errors=True)
    if db == "postgres":
        service_url = stack.enter_context(pg_database(args.pg, f"mlbench_{run_id}_service"))
        baseline_url = stack.enter_context(pg_database(args.pg, f"mlbench_{run_id}_baseline"))
        if args.pg_latency_ms > 0:
            # Both servers reach PostgreSQL through one delaying proxy of their own each.
            direct = round_trip_ms(service_url)
            service_url = stack.enter_context(delayed(service_url, args, work, "service"))
            baseline_url = stack.enter_context(delayed(baseline_url, args, work, "baseline"))
            notes.append(
                f"PostgreSQL through bench/latency_proxy.py (--pg-latency-ms "
                f"{args.pg_latency_ms:g}): a SELECT 1 round trip took "
                f"{round_trip_ms(service_url):.2f} ms (median), {direct:.2f} ms direct."
            )
    else:
        service_url = f"sqlite:///{work / 'service.db'}"
        baseline_url = f"sqlite:///{work / 'baseline.db'}"
    if args.self_check:
        # The baseline on both sides: the ratios then show the harness's own noise.
        service = baseline_server("service", service_url, work / "service.log")
    else:
        data_dir = work / "service-data"
        data_dir.mkdir()
        # On SQLite the service picks its own file in the data dir, and migrates it itself.
        url = service_url if db == "postgres" else None
        service = service_server(cli, data_dir, url, work / "service.log")
    return (
        stack.enter_context(service),
        stack.enter_context(baseline_server("baseline", baseline_url, work / "baseline.log")),
    )


def measure(
    service: Server,
    baseline: Server,
    workloads: Sequence[Workload],
    args: argparse.Namespace,
    report: DatabaseReport,
) -> None:
    """Warm up and measure each workload on the service, then on the baseline."""
    background: list[float] = []
    for workload in workloads:
        say(f"  {report.db}: {workload.label} ...")
        if (share := background_cpu()) is not None:
            background.append(share)
        results = []
        for server in (service, baseline):
            run_wrk(server, workload, args.warmup, args.connections, args.threads)
            # Check that each PUT was a real update: the service bumps a version per change.
            tracked = workload.name == "put" and server is service and not args.self_check
            target = workload.target if tracked else None
            before = entity_version(server, target) if target else None
            result = run_wrk(server, workload, args.duration, args.connections, args.threads)
            results.append(result)
            if target and before is not None:
                after = entity_version(server, target) or before
                report.notes.append(
                    f"service {workload.label}: version {before:.1f} -> {after:.1f}, "
                    f"{round((after - before) * 10)} new versions for {result.requests} "
                    "measured requests (a few more is expected: requests in flight when "
                    "wrk stops still land)."
                )
        report.rows.append((workload, results[0], results[1]))
    if background:
        shares = ", ".join(f"{b:.0%}" for b in background)
        busy = max(background) > BUSY_MACHINE
        report.notes.append(
            f"Other work on the machine, sampled idle before each workload: {shares} of all "
            "cores busy"
            + ("; the machine was not quiet, so expect noisier ratios." if busy else ".")
        )


def bench_database(db: str, args: argparse.Namespace, cli: Path, run_id: str) -> DatabaseReport:
    """Both servers on fresh databases of one kind, every workload, then a full clean-up."""
    detail = f"SQLite {sqlite3.sqlite_version} (WAL)" if db == "sqlite" else pg_version(args.pg)
    report = DatabaseReport(db, detail)
    get_target, put_target = f"bench-get-{run_id}", f"bench-put-{run_id}"
    workloads = [
        Workload("create", "POST create"),
        Workload("put", "PUT one hot row", target=put_target),
        Workload("bulk", "PUT bulk (100/req)", rows_per_request=100),
        Workload("get", "GET by name", target=get_target),
    ]
    with contextlib.ExitStack() as stack:
        service, baseline = start_servers(stack, db, args, cli, run_id, report.notes)
        for server in (service, baseline):
            report.notes += precreate(server, [get_target, put_target])
        measure(service, baseline, workloads, args, report)
    return report


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def table_rows(report: DatabaseReport) -> list[list[str]]:
    rows = []
    for workload, svc, base in report.rows:
        failed = f"{svc.failures} / {base.failures}"
        rows.append(
            [
                workload.label,
                fmt_rate(svc.ok_per_s),
                fmt_rate(base.ok_per_s),
                fmt_ratio(svc.ok_per_s, base.ok_per_s),
                f"{svc.p50_ms:.2f}",
                f"{svc.p99_ms:.2f}",
                f"{base.p50_ms:.2f}",
                f"{base.p99_ms:.2f}",
                failed,
            ]
        )
        if workload.rows_per_request > 1:
            k = workload.rows_per_request
            rows.append(
                [
                    "  bulk rows/s",
                    fmt_rate(svc.ok_per_s * k),
                    fmt_rate(base.ok_per_s * k),
                    fmt_ratio(svc.ok_per_s, base.ok_per_s),
                    *[""] * 5,
                ]
            )
    return rows


HEADER = [
    "workload",
    "service req/s",
    "baseline req/s",
    "service/baseline",
    "svc p50 ms",
    "svc p99 ms",
    "base p50 ms",
    "base p99 ms",
    "failed svc / base",
]


def failure_lines(report: DatabaseReport) -> list[str]:
    lines = []
    for workload, *results in report.rows:
        for side, result in zip(("service", "baseline"), results, strict=True):
            if not result.failures:
                continue
            statuses = ", ".join(f"{n} x {s}" for s, n in sorted(result.statuses.items()))
            lines.append(
                f"{side} {workload.label}: {result.failures} of {result.requests} failed "
                f"(statuses: {statuses}; bulk replies not 'success': {result.bad_bodies}; "
                f"socket errors: {result.socket_errors}). "
                f"First failure: {result.first_failure[:400]!r}"
            )
    return lines


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = []
    for row in [HEADER, *rows]:
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join([" --- "] + [" ---: "] * 8) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(reports: list[DatabaseReport], settings: str, markdown: bool) -> str:
    out: list[str] = []
    for report in reports:
        title = f"{report.db}: {report.detail}"
        out += [f"## {title}" if markdown else f"=== {title}", ""]
        if report.rows:
            rows = table_rows(report)
            out += [markdown_table(rows) if markdown else text_table(rows), ""]
        notes = failure_lines(report) + report.notes
        if report.error:
            notes.insert(0, f"NOT COMPLETED: {report.error}")
        out += [f"- {n}" if markdown else f"* {n}" for n in notes]
        if notes:
            out.append("")
    out.append(settings)
    return "\n".join(out)


def interrupt_once(_signum: int, _frame: FrameType | None) -> None:
    """First Ctrl-C or SIGTERM unwinds (cleanup runs); later ones are ignored until it ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (cores are shared)")
    parser.add_argument(
        "--pg", default="postgres@127.0.0.1:5432", help="user@host:port of PostgreSQL"
    )
    parser.add_argument(
        "--pg-latency-ms",
        type=float,
        default=0,
        help="put PostgreSQL this many ms of round trip away (bench/latency_proxy.py)",
    )
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="put a second baseline where the service goes, to see the harness's noise",
    )
    args = parser.parse_args(argv)
    if args.threads > args.connections:
        parser.error("--threads must not exceed --connections")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        say("wrk is not installed. On Debian or Ubuntu: apt-get update && apt-get install -y wrk")
        return 2
    cli = Path(sys.executable).with_name("mlmodel-emulator")
    if not args.self_check and not cli.exists():
        say(f"{cli} not found: run this with the project's virtualenv python (.venv/bin/python).")
        return 2
    signal.signal(signal.SIGINT, interrupt_once)
    signal.signal(signal.SIGTERM, interrupt_once)

    started_at = dt.datetime.now(dt.UTC)
    run_id = secrets.token_hex(4)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    settings = (
        f"Run {started_at:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores: wrk -t{args.threads} "
        f"-c{args.connections}, {args.warmup:g} s warm-up + {args.duration:g} s measured per "
        "server and workload, 1 server worker each"
        + (
            f"; PostgreSQL {args.pg_latency_ms:g} ms of round trip away"
            if args.pg_latency_ms > 0
            else ""
        )
        + ("; SELF-CHECK: the 'service' column is a second baseline" if args.self_check else "")
        + ". req/s counts 2xx responses only; 'failed' counts non-2xx, socket errors and "
        "bulk replies whose status is not 'success'."
    )
    reports: list[DatabaseReport] = []
    try:
        for db in dbs:
            say(f"Benchmarking on {db} ...")
            try:
                reports.append(bench_database(db, args, cli, run_id))
            except Exception as exc:  # report it, and still run the other database
                reports.append(DatabaseReport(db, "", error=f"{type(exc).__name__}: {exc}"))
    except KeyboardInterrupt:
        say("Interrupted; servers stopped and temporary databases removed.")
        return 130

    say()
    say(render(reports, settings, markdown=False))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{started_at:%Y%m%d-%H%M%S}.md"
    body = render(reports, settings, markdown=True)
    path.write_text(f"# mlmodel-emulator benchmark, {started_at:%Y-%m-%d %H:%M} UTC\n\n{body}\n")
    say(f"\nWritten to {path.relative_to(BENCH_DIR.parent)}")
    return 1 if any(r.error for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
