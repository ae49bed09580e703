"""The application factory: routes, error handlers, and resources opened in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mlmodel_emulator import __version__, hot_paths
from mlmodel_emulator.admin.faults import router as faults_router
from mlmodel_emulator.admin.journal import router as journal_router
from mlmodel_emulator.admin.middleware import AdminMiddleware
from mlmodel_emulator.admin.router import router as admin_router
from mlmodel_emulator.admin.snapshot import stored_ids
from mlmodel_emulator.admin.state_router import router as admin_state_router
from mlmodel_emulator.auth.keys import load_signing_keys
from mlmodel_emulator.auth.secrets import SecretCipher, load_cipher
from mlmodel_emulator.auth.tokens import TokenVerifier
from mlmodel_emulator.clock import Clock, Ids
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db import checkpoints
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.entities.permissions import UserCache
from mlmodel_emulator.errors import ServiceUnavailable, register_exception_handlers
from mlmodel_emulator.events.router import router as events_router
from mlmodel_emulator.governance.router import (
    classifications_router,
    domains_router,
    tags_router,
    teams_router,
    users_router,
)
from mlmodel_emulator.governance.seed import seed
from mlmodel_emulator.jobs.router import router as jobs_router
from mlmodel_emulator.limits import BodySizeLimit
from mlmodel_emulator.mlmodel_services.router import router as mlmodel_services_router
from mlmodel_emulator.mlmodel_services.seed import seed_services
from mlmodel_emulator.mlmodels.router import router as mlmodels_router
from mlmodel_emulator.subscriptions.dispatcher import Dispatcher
from mlmodel_emulator.subscriptions.router import router as subscriptions_router
from mlmodel_emulator.system.router import router as system_router
from mlmodel_emulator.test_connections.router import router as test_connections_router

API_PREFIX = "/api"
# How long a starting process waits for its database before it gives up.
STARTUP_WAIT_S = 30.0

logger = logging.getLogger(__name__)


def _freeze_startup_objects() -> None:
    """Leave what exists at startup out of every later garbage collection, once a process.

    The modules, schemas and statements loaded by then are most of the heap and live as
    long as the process; scanning them again on every full collection cost a bulk request
    about a quarter of its time.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def _seed(
    database: Database, settings: Settings, cipher: SecretCipher, now_ms: int, ids: Ids
) -> None:
    """The built-ins, the bootstrap file and the seeded services, where missing."""
    if ids.seeded:
        ids.restart(database.read(stored_ids))
    seed(database, settings, now_ms=now_ms, ids=ids)
    seed_services(database, settings, cipher, now_ms=now_ms, ids=ids)


async def _seed_when_reachable(seed_all: Callable[[], None]) -> None:
    """Seed, waiting up to STARTUP_WAIT_S for a database that is not up yet (started
    alongside, or restarting), so that the process need not be started again."""
    deadline = time.monotonic() + STARTUP_WAIT_S
    while True:
        try:
            seed_all()
            return
        except ServiceUnavailable:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"The database did not answer within {STARTUP_WAIT_S:.0f} s of the start"
                ) from None
            logger.warning("Waiting for the database to answer")
            await asyncio.sleep(1.0)


def _start_delivery(
    settings: Settings, database: Database, cipher: SecretCipher
) -> asyncio.Task[None] | None:
    """This process's delivery of the event feed to webhooks, unless turned off."""
    if not settings.subscription_delivery:
        return None
    dispatcher = Dispatcher(
        database,
        cipher,
        poll_ms=settings.subscription_poll_ms,
        retry_base_ms=settings.subscription_retry_base_ms,
        lease_ms=settings.subscription_lease_ms,
    )
    return asyncio.create_task(dispatcher.run(), name="event-subscription-delivery")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; nothing touches the database or the disk until it starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.keys = load_signing_keys(settings)
        app.state.cipher = load_cipher(settings)
        app.state.verifier = TokenVerifier(app.state.keys, settings.jwt_issuer)
        app.state.users = UserCache()
        background = settings.sqlite_checkpoint_ms > 0
        engine = make_engine(settings.sqlalchemy_url, background_checkpoints=background)
        app.state.database = Database(engine)
        database, clock, ids = app.state.database, app.state.clock, app.state.ids
        checkpointer = None
        if background and checkpoints.wanted(engine):
            checkpointer = checkpoints.WalCheckpointer(
                engine, settings.sqlite_checkpoint_ms / 1000, database.restart_log_soon
            )
            checkpointer.start()
        app.state.checkpointer = checkpointer
        try:
            await _seed_when_reachable(
                lambda: _seed(database, settings, app.state.cipher, clock.now_ms(), ids)
            )
            _freeze_startup_objects()
            delivering = _start_delivery(settings, database, app.state.cipher)
            try:
                yield
            finally:
                if delivering is not None:
                    delivering.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await delivering
        finally:
            if checkpointer is not None:
                checkpointer.stop()
            app.state.database.dispose()

    app = FastAPI(
        title="mlmodel-emulator",
        version=__version__,
        description="OpenMetadata's ML Model Service API (/api/v1/services/mlmodelServices).",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    app.state.settings = settings
    app.state.clock = Clock()
    app.state.ids = Ids(settings.id_seed)
    app.state.revision = __version__
    app.state.started_at = time.time_ns() // 1_000_000
    register_exception_handlers(app)

    # Every router is included in the app itself, never in another router, which would add
    # one more level of matching. FastAPI tries the routers in this order, route by route,
    # so the one that carries the ingestion traffic comes first.
    included = (
        mlmodel_services_router,
        mlmodels_router,
        system_router,
        test_connections_router,
        users_router,
        teams_router,
        domains_router,
        classifications_router,
        tags_router,
        jobs_router,
        subscriptions_router,
        events_router,
    )
    for router in included:
        app.include_router(router, prefix=API_PREFIX)
    hot_paths.install(app, [(router, API_PREFIX) for router in included])
    if settings.admin_api:
        app.include_router(admin_router, prefix=API_PREFIX)
        app.include_router(faults_router, prefix=API_PREFIX)
        app.include_router(journal_router, prefix=API_PREFIX)
        # Outside the body size limit: its 413 answers are journaled too.
        app.add_middleware(
            AdminMiddleware, state=app.state, journal_capacity=settings.journal_capacity
        )
        app.include_router(admin_state_router, prefix=API_PREFIX)
    return app
