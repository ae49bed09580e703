"""JWTs: minting them for users and bots, and verifying what callers present."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

import jwt
from cachetools import LRUCache

from mlmodel_emulator.auth.keys import SigningKeys
from mlmodel_emulator.errors import Unauthorized

ALGORITHM: Final = "RS256"
# authenticationConfiguration.jwtPrincipalClaims, in OpenMetadata's usual order.
PRINCIPAL_CLAIMS: Final = ("email", "preferred_username", "sub")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user name (the principal claim cut at '@') and whether a bot."""

    name: str
    is_bot: bool


def mint(
    keys: SigningKeys,
    *,
    issuer: str,
    user: str,
    email: str | None = None,
    is_bot: bool = False,
    now: int,
    expires_in: int | None,
) -> str:
    """A token as JWTTokenGenerator makes it: sub, email, isBot, iss, iat and (maybe) exp."""
    claims: dict[str, Any] = {
        "sub": user,
        "email": email or f"{user}@open-metadata.org",
        "isBot": is_bot,
        "iss": issuer,
        "iat": now,
    }
    if expires_in is not None:
        claims["exp"] = now + expires_in
    return jwt.encode(claims, keys.private_key, algorithm=ALGORITHM, headers={"kid": keys.key_id})


class TokenVerifier:
    """Verifies bearer tokens, remembering the ones already verified.

    An RS256 check costs more than the rest of a typical request; a token seen before is
    only checked for expiry again. Tokens that fail are never remembered.
    """

    def __init__(self, keys: SigningKeys, issuer: str, *, cache_size: int = 4096) -> None:
        self._keys = keys
        self._issuer = issuer
        self._verified: LRUCache[str, tuple[Principal, float | None]] = LRUCache(cache_size)

    def principal(self, authorization: str | None) -> Principal:
        """The principal of an Authorization header, or Unauthorized (401)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("Not Authorized! Token not present")
        token = authorization.removeprefix("Bearer ").strip()
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if expires is not None and expires <= time.time():
                raise Unauthorized("Expired token!")
            return principal
        principal, claims = _verify(token, self._keys, self._issuer)
        exp = claims.get("exp")
        self._verified[token] = (principal, float(exp) if isinstance(exp, int | float) else None)
        return principal


def principal_from_header(authorization: str | None, keys: SigningKeys, issuer: str) -> Principal:
    """Verify a bearer token and name its principal, with JwtFilter's 401 texts."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("Not Authorized! Token not present")
    return _verify(authorization.removeprefix("Bearer ").strip(), keys, issuer)[0]


def _verify(token: str, keys: SigningKeys, issuer: str) -> tuple[Principal, dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("kid") != keys.key_id:
            raise Unauthorized("Invalid token")
        # Pinning the algorithm refuses alg=none and HS256 tokens keyed with the public key.
        claims = jwt.decode(
            token,
            keys.public_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["iss"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Expired token!") from None
    except jwt.PyJWTError:
        raise Unauthorized("Invalid token") from None
    for claim in PRINCIPAL_CLAIMS:
        value = claims.get(claim)
        name = value.split("@", 1)[0] if isinstance(value, str) else ""
        if name:
            break
    else:
        raise Unauthorized(
            "Invalid JWT token, none of the following claims are present "
            f"[{', '.join(PRINCIPAL_CLAIMS)}]"
        )
    return Principal(name=name, is_bot=claims.get("isBot") is True), claims
