"""Domains: /api/v1/domains."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection

from mlmodel_emulator.common.versioning import FieldSpec
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.entities import COMMON_TRACKED, Kind, Prepared
from mlmodel_emulator.governance.schemas import CreateDomain

DOMAIN: Final = "domain"


class Domains(Kind[CreateDomain]):
    entity_type = DOMAIN
    collection = "/v1/domains"
    store = repository.domains
    tracked = (*COMMON_TRACKED, FieldSpec("domainType", "scalar"))
    # domain.json has no `deleted`: OpenMetadata deletes domains outright.
    unanswered_fields = ("deleted",)

    def prepare(self, connection: Connection, request: CreateDomain) -> Prepared:
        return Prepared(
            name=request.name,
            fqn=self.lookup_fqn(request.name),
            fields={
                "displayName": request.display_name,
                "description": request.description,
                "domainType": request.domain_type,
            },
        )


DOMAINS: Final = Domains()
