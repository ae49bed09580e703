"""Wire models of users, teams, domains, classifications and tags, spelled as OpenMetadata's."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from mlmodel_emulator.common.api import (
    ApiModel,
    ChangeDescription,
    EntityReference,
    ResponseModel,
    Style,
)
from mlmodel_emulator.common.names import check_entity_name

EntityName = Annotated[str, AfterValidator(check_entity_name)]

# basic.json#/definitions/email
EMAIL_PATTERN = r"^[\S.!#$%&’*+/=?^_`{|}~-]+@\S+\.\S+$"
EMAIL_MIN_LENGTH, EMAIL_MAX_LENGTH = 6, 127
_EMAIL = re.compile(EMAIL_PATTERN)


def check_email(email: str) -> str:
    """Validate an email as basic.json's email does: 6 to 127 characters, a pattern."""
    if not EMAIL_MIN_LENGTH <= len(email) <= EMAIL_MAX_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            f"size must be between {EMAIL_MIN_LENGTH} and {EMAIL_MAX_LENGTH}",
            {"min_length": EMAIL_MIN_LENGTH, "max_length": EMAIL_MAX_LENGTH},
        )
    if not _EMAIL.fullmatch(email):
        raise PydanticCustomError("email_pattern", f'must match "{EMAIL_PATTERN}"')
    return email


Email = Annotated[str, AfterValidator(check_email)]


class TeamType(StrEnum):
    """team.json#/definitions/teamType."""

    Group = "Group"
    Department = "Department"
    Division = "Division"
    BusinessUnit = "BusinessUnit"
    Organization = "Organization"


class DomainType(StrEnum):
    """domain.json#/definitions/domainType."""

    SourceAligned = "Source-aligned"
    ConsumerAligned = "Consumer-aligned"
    Aggregate = "Aggregate"


class ProviderType(StrEnum):
    """basic.json#/definitions/providerType."""

    system = "system"
    user = "user"
    automation = "automation"


# ---------------------------------------------------------------------------- requests
#
# Booleans a PUT leaves out keep their stored value (None here); a create defaults them to
# false, as the schemas do.


class CreateUser(ApiModel):
    """api/teams/createUser.json: the fields this server keeps."""

    name: EntityName = Field(description="Login name; kept lower-case, as OpenMetadata does.")
    email: Email = Field(description="Unique; kept lower-case.")
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    is_bot: bool | None = Field(default=None, alias="isBot")
    is_admin: bool | None = Field(default=None, alias="isAdmin")
    teams: list[uuid.UUID] | None = Field(default=None, description="Ids of the user's teams.")


class CreateTeam(ApiModel):
    """api/teams/createTeam.json: the fields this server keeps."""

    name: EntityName
    team_type: TeamType | None = Field(
        default=None, alias="teamType", description="Group if left out."
    )
    email: Email | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    users: list[uuid.UUID] | None = Field(default=None, description="Ids of the team's users.")


class CreateDomain(ApiModel):
    """api/domains/createDomain.json: the fields this server keeps."""

    name: EntityName
    domain_type: DomainType = Field(alias="domainType")
    display_name: str | None = Field(default=None, alias="displayName")
    description: str


class CreateClassification(ApiModel):
    """api/classification/createClassification.json, plus `disabled` (classification.json)."""

    name: EntityName
    display_name: str | None = Field(default=None, alias="displayName")
    description: str
    mutually_exclusive: bool | None = Field(default=None, alias="mutuallyExclusive")
    disabled: bool | None = None
    provider: ProviderType | None = None


class CreateTag(ApiModel):
    """api/classification/createTag.json: the fields this server keeps, plus `disabled`."""

    name: EntityName
    classification: EntityName = Field(description="Name of the classification of the tag.")
    display_name: str | None = Field(default=None, alias="displayName")
    description: str
    style: Style | None = None
    disabled: bool | None = None
    provider: ProviderType | None = None


# ---------------------------------------------------------------------------- responses


class _Entity(ResponseModel):
    id: str
    name: str
    fullyQualifiedName: str
    displayName: str | None = None
    description: str | None = None
    version: float = Field(description="0.1 at creation, +0.1 per change.")
    updatedAt: int = Field(description="Epoch milliseconds.")
    updatedBy: str
    href: str
    deleted: bool
    changeDescription: ChangeDescription | None = None


class User(_Entity):
    """entity/teams/user.json, as answered."""

    email: str
    isBot: bool
    isAdmin: bool
    teams: list[EntityReference]


class Team(_Entity):
    """entity/teams/team.json, as answered."""

    teamType: TeamType
    email: str | None = None
    users: list[EntityReference]


class Domain(_Entity):
    """entity/domains/domain.json, as answered."""

    domainType: DomainType


class Classification(_Entity):
    """entity/classification/classification.json, as answered."""

    mutuallyExclusive: bool
    disabled: bool
    provider: ProviderType


class Tag(_Entity):
    """entity/classification/tag.json, as answered."""

    classification: EntityReference
    style: Style | None = None
    disabled: bool
    provider: ProviderType


class Paging(ResponseModel):
    before: str | None = None
    after: str | None = None
    total: int


class UserList(ResponseModel):
    data: list[User]
    paging: Paging


class TeamList(ResponseModel):
    data: list[Team]
    paging: Paging


class DomainList(ResponseModel):
    data: list[Domain]
    paging: Paging


class ClassificationList(ResponseModel):
    data: list[Classification]
    paging: Paging


class TagList(ResponseModel):
    data: list[Tag]
    paging: Paging


class ErrorMessage(ResponseModel):
    """Every error: the HTTP status again, and a message."""

    code: int
    message: str
