"""Encryption at rest of connection secrets: Fernet, with a previous key accepted for rotation."""

from __future__ import annotations

from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from mlmodel_emulator.auth.keys import write_once
from mlmodel_emulator.config import Settings

KEY_FILE: Final = "secrets-key"
# SecretsManager's db provider marks encrypted values the same way.
PREFIX: Final = "fernet:"


class SecretCipher:
    """Encrypts with the current key; decrypts with the current or the previous one."""

    def __init__(self, key: bytes, previous: bytes | None = None) -> None:
        keys = [Fernet(key)] + ([Fernet(previous)] if previous else [])
        self._fernet = MultiFernet(keys)

    def encrypt(self, value: str) -> str:
        if value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, value: str) -> str:
        if not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value.removeprefix(PREFIX).encode("ascii")).decode()
        except InvalidToken:
            raise ValueError(
                "a stored secret does not decrypt with the configured keys: "
                "did MLMODEL_EMULATOR_SECRETS_KEY change without "
                "MLMODEL_EMULATOR_SECRETS_PREVIOUS_KEY?"
            ) from None


def load_cipher(settings: Settings) -> SecretCipher:
    """The cipher in effect: the configured key, else the data dir's (made at first start)."""
    if settings.secrets_key is not None:
        key = settings.secrets_key.get_secret_value().encode()
    else:
        path = settings.data_dir / KEY_FILE
        if not path.exists():
            write_once(path, Fernet.generate_key())
        key = path.read_bytes().strip()
    previous = settings.secrets_previous_key
    return SecretCipher(key, previous.get_secret_value().encode() if previous else None)
