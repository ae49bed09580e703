"""The mlmodel-emulator command: serve, migrate, token, export."""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from mlmodel_emulator.admin import snapshot
from mlmodel_emulator.auth import tokens
from mlmodel_emulator.auth.keys import load_signing_keys
from mlmodel_emulator.auth.secrets import load_cipher
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.errors import ApiError

BOT_USERS = frozenset({"ingestion-bot"})
DEFAULT_TOKEN_LIFETIME = 24 * 3600


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    """Alembic's configuration for the migrations shipped inside the package.

    No alembic.ini is read: the checkout's one is for development (``alembic revision``)
    and points at the same scripts, and an installed wheel has none.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = settings.sqlalchemy_url
    return config


def migrate(settings: Settings) -> None:
    """Bring the database schema to the newest revision."""
    from alembic import command

    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        command.upgrade(alembic_config(settings), "head")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise SystemExit(f"mlmodel-emulator: cannot migrate the database: {reason}") from None


def write_atomically(path: Path, content: bytes) -> None:
    """Write a file whole or not at all: a temporary file beside it, then a rename, so that
    a reader never sees half of it and a failure leaves any former file as it was. Readable
    by its owner only, like the keys: it holds user records and encrypted secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_file(settings: Settings, path: Path) -> int:
    """Write the whole state to `path` as a state document; return how many rows it holds."""
    database_file = settings.sqlalchemy_url.removeprefix("sqlite:///")
    if settings.is_sqlite and not Path(database_file).exists():
        raise SystemExit(f"Cannot export: there is no database at {database_file}")
    database = Database(make_engine(settings.sqlalchemy_url))
    try:
        if database.read(snapshot.schema_revision) is None:
            raise SystemExit("Cannot export: the database was never migrated")
        document = snapshot.export(database, now_ms=time.time_ns() // 1_000_000)
    finally:
        database.dispose()
    write_atomically(path, orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return sum(len(rows) for rows in document["tables"].values())


def import_file(settings: Settings, path: Path) -> int:
    """Replace the whole state with the state document in `path` (all of it, or nothing);
    return how many rows it held. Stops with a message naming the file when it cannot."""
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SystemExit(f"Cannot import {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise SystemExit(f"Cannot import {path}: not valid JSON ({exc})") from None
    database = Database(make_engine(settings.sqlalchemy_url))
    try:
        counts = snapshot.replace(database, document, cipher=load_cipher(settings), users=None)
    except ApiError as exc:
        raise SystemExit(f"Cannot import {path}: {exc.message}") from None
    finally:
        database.dispose()
    return sum(counts.values())


def _export(args: argparse.Namespace, settings: Settings) -> None:
    rows = export_file(settings, args.file)
    print(f"Exported {rows} rows to {args.file}", file=sys.stderr)


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    if settings.id_seed is not None and args.workers > 1:
        # Each worker would run the same sequence and give one id to two entities.
        raise SystemExit("MLMODEL_EMULATOR_ID_SEED needs one worker process (--workers 1)")
    if settings.is_sqlite:
        migrate(settings)
    # Keys are made here once, before any worker starts.
    load_signing_keys(settings)
    load_cipher(settings)
    if args.import_file is not None:
        rows = import_file(settings, args.import_file)
        print(f"Imported {rows} rows from {args.import_file}", file=sys.stderr)
    print(
        f"Serving http://{args.host}:{args.port}/api  "
        "(get a token with: mlmodel-emulator token admin)",
        file=sys.stderr,
    )
    uvicorn.run(
        "mlmodel_emulator.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=settings.access_log,
        log_level="info",
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG),
    )


def _log_config(uvicorn_config: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers on its stderr handler: worker
    processes configure logging from this alone, and would drop the service's warnings and
    errors (a database that is away, an unhandled error) without it."""
    config = copy.deepcopy(uvicorn_config)
    config["loggers"]["mlmodel_emulator"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


def _token(args: argparse.Namespace, settings: Settings) -> None:
    expires_in = None if args.expires_in == "unlimited" else int(args.expires_in)
    print(
        tokens.mint(
            load_signing_keys(settings),
            issuer=settings.jwt_issuer,
            user=args.user,
            email=args.email,
            is_bot=args.bot or args.user in BOT_USERS,
            now=int(time.time()),
            expires_in=expires_in,
        )
    )


def _expiry(value: str) -> str:
    if value != "unlimited" and not (value.isdigit() and int(value) > 0):
        raise argparse.ArgumentTypeError("a number of seconds, or 'unlimited'")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlmodel-emulator",
        description="OpenMetadata's ML Model Service API as a small standalone service.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate an SQLite database if used, then serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8585)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--import",
        dest="import_file",
        type=Path,
        metavar="FILE",
        help="replace the whole state with this exported document before serving",
    )

    commands.add_parser("migrate", help="bring the database schema up to date")

    export = commands.add_parser("export", help="write the whole state to a JSON file")
    export.add_argument("file", type=Path, metavar="FILE", help="written whole, or not at all")

    token = commands.add_parser("token", help="print a JWT that this server accepts")
    token.add_argument("user", help="user name, e.g. admin or ingestion-bot")
    token.add_argument("--bot", action="store_true", help="mark the token as a bot's (isBot)")
    token.add_argument("--email", help="email claim (default: USER@open-metadata.org)")
    token.add_argument(
        "--expires-in",
        type=_expiry,
        default=str(DEFAULT_TOKEN_LIFETIME),
        help="lifetime in seconds, or 'unlimited' (default: 86400)",
    )
    return parser


def load_settings() -> Settings:
    """The settings from the environment; a bad value ends the command with its variable
    named, not a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            problems.append(f"  {_variable(field)}: {error['msg'].removeprefix('Value error, ')}")
        raise SystemExit("mlmodel-emulator: invalid settings\n" + "\n".join(problems)) from None


def _variable(field: str) -> str:
    """The environment variable a setting is read from (a field with aliases is named by
    its first alias, which is one already)."""
    if not field:
        return "settings"
    return field if field.isupper() else f"MLMODEL_EMULATOR_{field.upper()}"


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command == "serve":
        _serve(args, settings)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "export":
        _export(args, settings)
    else:
        _token(args, settings)


if __name__ == "__main__":
    main()
