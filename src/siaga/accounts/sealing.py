"""Secrets kept encrypted at rest: the staff's TOTP secrets and the residents' SMS keys.

AES-GCM, stored as ``v1:`` then the base64 of the nonce, the ciphertext and its tag: a copy of the database alone
cannot read them. The key is derived (HKDF) from ``SIAGA_TOTP_KEY``, or ``SIAGA_SECRET_KEY`` when that is unset, with
one label per kind of secret, so neither setting is used as it is and one kind cannot be opened as another. The row
a secret belongs to is bound in as associated data: a sealed value copied to another row does not open."""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from siaga.config import Settings

SEALED = "v1:"
_NONCE_BYTES = 12


class CannotOpen(ValueError):
    """A sealed value the configured key cannot open: the key changed, or the row was altered or copied."""


def _cipher(settings: Settings, label: bytes) -> AESGCM:
    material = (settings.totp_key.get_secret_value() or settings.secret_key.get_secret_value()).encode()
    return AESGCM(HKDF(algorithm=SHA256(), length=32, salt=None, info=label).derive(material))


def seal(plain: str, *, label: bytes, row: str, settings: Settings) -> str:
    """``plain`` encrypted for ``row`` (the owner's id), as stored."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = _cipher(settings, label).encrypt(nonce, plain.encode(), row.encode())
    return SEALED + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(stored: str, *, label: bytes, row: str, settings: Settings) -> str:
    """What a sealed value holds, or ``CannotOpen``."""
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(SEALED))
        plain = _cipher(settings, label).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], row.encode())
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise CannotOpen(f"a sealed secret of {row} cannot be opened with the configured key") from exc
    return plain.decode()
