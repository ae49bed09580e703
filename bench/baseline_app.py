"""Minimal reference app: one pydantic parse, one SQLAlchemy Core statement, an orjson reply."""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, ParamSpec, TypeVar

import orjson
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from starlette.concurrency import run_in_threadpool

PREFIX = "/api/v1/services/mlmodelServices"

P = ParamSpec("P")
T = TypeVar("T")

metadata = sa.MetaData()

# Same shape as the service's table, roughly: id, unique name, the entity as one JSON document.
services = sa.Table(
    "mlmodel_service",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("doc", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
)


class CreateMlModelService(BaseModel):
    """The create request, as small as the workloads need."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=256)
    service_type: Literal["Mlflow", "Sklearn", "CustomMlModel", "SageMaker", "VertexAI"] = Field(
        alias="serviceType"
    )
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    connection: dict[str, Any] | None = None


bulk_adapter = TypeAdapter(list[CreateMlModelService])


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _reply(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code, media_type="application/json")


def _document(create: CreateMlModelService) -> dict[str, Any]:
    """The stored entity, without its id (the row's id column is the one truth for it)."""
    doc = create.model_dump(by_alias=True, exclude_none=True)
    doc.update(
        fullyQualifiedName=create.name,
        version=0.1,
        updatedAt=int(time.time() * 1000),
        updatedBy="admin",
        deleted=False,
    )
    return doc


class Store:
    """The database side: one engine, statements built once, one transaction per call."""

    def __init__(self, url: str) -> None:
        self.is_sqlite = url.startswith("sqlite")
        self.engine = sa.create_engine(
            url,
            json_serializer=_dump_json,
            json_deserializer=orjson.loads,
            **({} if self.is_sqlite else {"pool_size": 10, "max_overflow": 10}),
        )
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._insert = sa.insert(services)
        upsert = (sqlite.insert if self.is_sqlite else postgresql.insert)(services)
        # RETURNING also makes a list of rows run as one multi-row INSERT (insertmanyvalues),
        # compiled once and cached, where .values(rows) would be compiled on every call.
        self._upsert = upsert.on_conflict_do_update(
            index_elements=[services.c.name], set_={"doc": upsert.excluded.doc}
        ).returning(services.c.id)
        self._select = sa.select(services.c.id, services.c.doc).where(
            services.c.name == sa.bindparam("name")
        )

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """SQLite inline on the event loop; PostgreSQL through the threadpool."""
        if self.is_sqlite:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def insert(self, entity_id: str, doc: dict[str, Any]) -> bool:
        """INSERT one row; False when the name is taken."""
        try:
            with self.engine.begin() as conn:
                conn.execute(self._insert, {"id": entity_id, "name": doc["name"], "doc": doc})
        except sa.exc.IntegrityError:
            return False
        return True

    def upsert(self, entity_id: str, doc: dict[str, Any]) -> str:
        """INSERT .. ON CONFLICT (name) DO UPDATE; returns the row's id."""
        with self.engine.begin() as conn:
            row_id: str = conn.execute(
                self._upsert, {"id": entity_id, "name": doc["name"], "doc": doc}
            ).scalar_one()
        return row_id

    def upsert_many(self, docs: list[dict[str, Any]]) -> None:
        """One multi-row INSERT .. ON CONFLICT (name) DO UPDATE."""
        rows = [{"id": str(uuid.uuid4()), "name": d["name"], "doc": d} for d in docs]
        with self.engine.begin() as conn:
            conn.execute(self._upsert, rows)

    def get(self, name: str) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            row = conn.execute(self._select, {"name": name}).first()
        return None if row is None else {"id": row.id, **row.doc}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_app(database_url: str) -> FastAPI:
    """The four routes the benchmark drives, at the service's paths."""
    store = Store(database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        store.create_schema()
        yield
        store.engine.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.exception_handler(ValidationError)
    async def invalid_body(_request: Request, exc: ValidationError) -> Response:
        return _reply({"code": 400, "message": str(exc)}, 400)

    @app.post(PREFIX)
    async def create(request: Request) -> Response:
        doc = _document(CreateMlModelService.model_validate_json(await request.body()))
        entity_id = str(uuid.uuid4())
        if not await store.run(store.insert, entity_id, doc):
            return _reply({"code": 409, "message": "Entity already exists"}, 409)
        return _reply({"id": entity_id, **doc}, 201)

    @app.put(PREFIX)
    async def create_or_update(request: Request) -> Response:
        doc = _document(CreateMlModelService.model_validate_json(await request.body()))
        entity_id = await store.run(store.upsert, str(uuid.uuid4()), doc)
        return _reply({"id": entity_id, **doc})

    @app.put(PREFIX + "/bulk")
    async def bulk(request: Request) -> Response:
        creates = bulk_adapter.validate_json(await request.body())
        # One statement cannot touch a row twice: the last item of a name wins.
        docs = list({c.name: _document(c) for c in creates}.values())
        await store.run(store.upsert_many, docs)
        return _reply(
            {
                "status": "success",
                "numberOfRowsProcessed": len(creates),
                "numberOfRowsPassed": len(creates),
                "numberOfRowsFailed": 0,
                "successRequest": [{"request": c.name, "status": 200} for c in creates],
            }
        )

    @app.get(PREFIX + "/name/{name}")
    async def get_by_name(name: str) -> Response:
        entity = await store.run(store.get, name)
        if entity is None:
            message = f"mlmodelService instance for {name} not found"
            return _reply({"code": 404, "message": message}, 404)
        return _reply(entity)

    @app.get("/api/v1/system/version")
    async def version() -> Response:
        return _reply({"version": "baseline"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL (sqlite or psycopg)")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.database_url),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
