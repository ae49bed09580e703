"""Who may use the admin routes: admins of this catalog, and only when they are enabled."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import Connection

from mlmodel_emulator.deps import ContextDep, RequestContext
from mlmodel_emulator.entities import permissions


def _require_admin(connection: Connection, ctx: RequestContext) -> None:
    actor = permissions.actor_for(connection, ctx.principal, ctx.settings.admin_users, ctx.users)
    permissions.authorize_admin(actor)


async def admin_context(ctx: ContextDep) -> RequestContext:
    """The request's context once its caller is known to be an admin (401, 403 otherwise)."""
    await ctx.database.aread(_require_admin, ctx)
    return ctx


AdminDep = Annotated[RequestContext, Depends(admin_context)]
