"""The application factory: routes, error handlers, and resources opened in the lifespan."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from mlmodel_emulator import __version__
from mlmodel_emulator.auth.keys import load_signing_keys
from mlmodel_emulator.config import Settings
from mlmodel_emulator.db.engine import make_engine
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.errors import register_exception_handlers
from mlmodel_emulator.mlmodel_services.router import router as mlmodel_services_router
from mlmodel_emulator.system.router import router as system_router

API_PREFIX = "/api"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; nothing touches the database or the disk until it starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.keys = load_signing_keys(settings)
        app.state.database = Database(make_engine(settings.sqlalchemy_url))
        try:
            yield
        finally:
            app.state.database.dispose()

    app = FastAPI(
        title="mlmodel-emulator",
        version=__version__,
        description="OpenMetadata's ML Model Service API (/api/v1/services/mlmodelServices).",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.revision = __version__
    app.state.started_at = time.time_ns() // 1_000_000
    register_exception_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(system_router)
    api.include_router(mlmodel_services_router)
    app.include_router(api)
    return app
