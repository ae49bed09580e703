"""Domains: /api/v1/domains."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection

from mlmodel_emulator.entities.kind import DESCRIPTION, DISPLAY_NAME, Caller, Field, Kind, Prepared
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.schemas import CreateDomain

DOMAIN: Final = "domain"


class Domains(Kind[CreateDomain]):
    entity_type = DOMAIN
    collection = "/v1/domains"
    store = repository.domains
    create_model = CreateDomain
    admin_only = True
    keeps_history = False
    fields = (DISPLAY_NAME, DESCRIPTION, Field("domainType"))
    # domain.json has no `deleted`: OpenMetadata deletes domains outright.
    unanswered_fields = ("deleted",)

    def prepare(self, connection: Connection, request: CreateDomain, caller: Caller) -> Prepared:
        return self.named(request, domainType=request.domain_type)


DOMAINS: Final = Domains()
