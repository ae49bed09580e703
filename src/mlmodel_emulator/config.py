"""Runtime settings, read once from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SQLITE_FILE = "mlmodel-emulator.db"
# The SQLAlchemy drivers installed with the service (psycopg 3 and Python's sqlite3).
SUPPORTED_DRIVERS = frozenset({"postgresql+psycopg", "sqlite", "sqlite+pysqlite"})
SUPPORTED_URLS = (
    "use postgresql+psycopg://user:password@host:5432/database (or postgresql://...) for "
    "PostgreSQL, or sqlite:///path/to/file.db for SQLite"
)


class Settings(BaseSettings):
    """Every setting of the service; each maps to an environment variable."""

    model_config = SettingsConfigDict(
        env_prefix="MLMODEL_EMULATOR_",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        # compose's ${VAR:-} passes an empty string: that means "not set".
        env_ignore_empty=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "MLMODEL_EMULATOR_DATABASE_URL"),
        description=(
            "SQLAlchemy URL of the database (env DATABASE_URL). Default: an SQLite file "
            "in the data dir. PostgreSQL: postgresql+psycopg://user:pass@host:5432/db."
        ),
    )
    data_dir: Path = Field(
        default=Path("./data"),
        description="Where the SQLite database and the generated JWT key pair live.",
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "Base URL used in href fields, e.g. https://catalog.example.com/api. "
            "Default: the base URL of each request, plus /api."
        ),
    )
    server_version: str = Field(
        default="2.0.7",
        description=(
            "Version reported by /api/v1/system/version. The official client refuses a "
            "server whose major.minor differs from its own."
        ),
    )
    strict_connection_validation: bool = Field(
        default=False,
        description=(
            "Reject connection configs that lack the fields their JSON schema marks as "
            "required. OpenMetadata accepts them, so this is off by default."
        ),
    )
    bulk_max_items: int = Field(
        default=100, ge=1, description="Most items one PUT /bulk request may carry (413 beyond)."
    )
    max_running_bulk_jobs: int = Field(
        default=4,
        ge=1,
        description=(
            "Most PUT /bulk?async=true jobs running at once, across every worker process; "
            "one more is a 429 with Retry-After. A job still running 5 minutes after it "
            "started lost its process and no longer counts."
        ),
    )
    jwt_issuer: str = Field(
        default="open-metadata.org",
        description="iss of minted tokens; tokens with another issuer are refused.",
    )
    jwt_key_id: str = Field(
        default="Gb389a-9f76-gdjs-a92j-0242bk94356",
        description="kid of the signing key, as OpenMetadata's default configuration.",
    )
    jwt_private_key: SecretStr | None = Field(
        default=None,
        description=(
            "RSA private key (PEM) that signs tokens. Default: a key generated at first "
            "start and kept in the data dir."
        ),
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description=(
            "Fernet key that encrypts connection secrets at rest. Default: a key generated "
            "at first start and kept in the data dir."
        ),
    )
    secrets_previous_key: SecretStr | None = Field(
        default=None,
        description="A former secrets key, still accepted for decryption while rotating.",
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1,
        description="Largest request body accepted (413 beyond), checked before it is read.",
    )
    admin_users: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description=(
            "Comma-separated user names that count as admins (who alone may change users, "
            "teams, domains, classifications and tags), besides users whose record says "
            "isAdmin, such as the built-in admin. A bot is never an admin."
        ),
    )
    bootstrap_file: Path | None = Field(
        default=None,
        description=(
            "A YAML (.yaml, .yml) or JSON (.json) file of users, teams, domains, "
            "classifications and tags, as their create requests, created at startup when "
            "missing. A malformed file stops the startup."
        ),
    )
    seed_services: Path | None = Field(
        default=None,
        description=(
            "A YAML or JSON file, or a folder of such files, of ML model service create "
            "requests (one, a list, or a mapping of mlmodelServices and mlmodels lists), "
            "created at startup when missing. A malformed file stops the startup."
        ),
    )
    patch_session_seconds: int = Field(
        default=600,
        ge=0,
        description=(
            "PATCHes by the same user within this many seconds of their last change are "
            "merged into one version, as OpenMetadata's session timeout does; 0 turns it off."
        ),
    )
    idempotency_ttl_seconds: int = Field(
        default=86_400,
        ge=1,
        description=(
            "How long an Idempotency-Key is remembered after its first answer: a retry "
            "within it replays that answer, a later one is a new request."
        ),
    )
    admin_api: bool = Field(
        default=False,
        description=(
            "Serve the emulator's admin routes under /api/__emulator/ (reset and the other "
            "test helpers), to admins only. Off by default: they can destroy data."
        ),
    )
    journal_capacity: int = Field(
        default=1000,
        ge=0,
        description=(
            "With the admin API: how many of the latest requests the request journal keeps "
            "(/api/__emulator/journal); 0 records none."
        ),
    )
    id_seed: int | None = Field(
        default=None,
        description=(
            "Give new entities, jobs and events ids from a generator seeded with this "
            "number, the same ids for the same requests at every start; for tests, with one "
            "worker process. Default: random ids (uuid4)."
        ),
    )
    subscription_delivery: bool = Field(
        default=True,
        description=(
            "Deliver the change event feed to the webhooks of event subscriptions: one "
            "delivery task per worker process. Off: subscriptions are kept, nothing is sent."
        ),
    )
    subscription_poll_ms: int = Field(
        default=500,
        ge=10,
        description=(
            "How often, in milliseconds, each worker process looks for events to deliver "
            "when it has none in hand."
        ),
    )
    subscription_retry_base_ms: int = Field(
        default=1000,
        ge=1,
        description=(
            "Wait after a failed delivery, in milliseconds, doubled at each further "
            "failure of the same event (capped at 5 minutes)."
        ),
    )
    subscription_lease_ms: int = Field(
        default=60_000,
        ge=100,
        description=(
            "How long, in milliseconds, a worker process keeps a webhook destination "
            "without a word from it: a worker that dies mid-delivery holds it that long "
            "before another takes over. Keep it longer than one send (a destination's "
            "timeout plus readTimeout, 22 s by default), or a slow send is taken over and "
            "sent twice."
        ),
    )
    sqlite_checkpoint_ms: int = Field(
        default=200,
        ge=0,
        description=(
            "SQLite: how often, in milliseconds, a thread of each worker process copies "
            "committed writes from the write-ahead log into the database file (a checkpoint, "
            "which also makes them survive a power loss), so that no request waits for it. "
            "0: SQLite checkpoints in the commit that takes its log past 1,000 pages."
        ),
    )
    access_log: bool = Field(
        default=False, description="Log every request (costs about 60 µs per request)."
    )

    @field_validator("admin_users", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        # The environment gives one string: "admin,jane".
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _use_psycopg_driver(cls, value: str | None) -> str | None:
        # docker and Heroku style URLs name no driver; psycopg 3 is the one installed.
        if value and value.startswith(("postgres://", "postgresql://")):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value:
            return None
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError(f"is not a database URL; {SUPPORTED_URLS}") from None
        if driver not in SUPPORTED_DRIVERS:
            raise ValueError(f"names the driver {driver!r}, not supported; {SUPPORTED_URLS}")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in effect, the SQLite default included."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DEFAULT_SQLITE_FILE).as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")
