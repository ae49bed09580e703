"""The RSA key pair that signs tokens: from settings, or made once in the data dir."""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mlmodel_emulator.config import Settings

PRIVATE_KEY_FILE = "jwt-private-key.pem"


@dataclass(frozen=True)
class SigningKeys:
    """The signing key, its kid, and the public half as a JWKS, built once."""

    private_key: rsa.RSAPrivateKey
    key_id: str
    jwks: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jwks", {"keys": [_jwk(self.public_key, self.key_id)]})

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _jwk(public_key: rsa.RSAPublicKey, key_id: str) -> dict[str, str]:
    """JWKSKey: kty, kid, n, e, alg RS256, use sig."""
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "kid": key_id,
        "n": _b64(numbers.n),
        "e": _b64(numbers.e),
        "alg": "RS256",
        "use": "sig",
    }


def _load_pem(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the JWT private key must be an RSA key")
    return key


def write_once(path: Path, content: bytes) -> None:
    """Write a file that must not exist yet; if another process wins the race, keep its file.

    The content goes to a temporary file first and link() puts it in place, failing when
    the file exists, so a concurrent start never reads half a key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.write(fd, content)
        os.close(fd)
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def _new_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_signing_keys(settings: Settings) -> SigningKeys:
    """The key pair in effect: the configured PEM, else the data dir's (made at first start)."""
    if settings.jwt_private_key is not None:
        pem = settings.jwt_private_key.get_secret_value().encode()
    else:
        path = settings.data_dir / PRIVATE_KEY_FILE
        if not path.exists():
            write_once(path, _new_private_key_pem())
        pem = path.read_bytes()
    return SigningKeys(private_key=_load_pem(pem), key_id=settings.jwt_key_id)
