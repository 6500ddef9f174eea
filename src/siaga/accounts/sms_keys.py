"""Each resident's key for the app's SOS SMS (see ``siaga.sms.sos_message``).

The key is random (32 bytes, base64url: 43 characters), issued the first time the resident signs in (or, for
residents from before, at their next profile fetch), sent to the app over HTTPS and kept in its storage; the server
keeps it sealed (``accounts.sealing``, bound to the resident's id). A message's MAC is keyed by the key's ASCII
characters as issued. Signing in again on a phone (the code SMS proves the number) gives the app the same key."""

from __future__ import annotations

import base64
import secrets

from siaga.accounts import sealing
from siaga.accounts.models import Resident
from siaga.config import Settings

_LABEL = b"siaga resident sms keys v1"


def issue(resident: Resident, *, settings: Settings) -> tuple[str, bool]:
    """``resident``'s key, made now if they had none (written with the use case's transaction). Returns the key and
    whether it was made now."""
    held = key_of(resident, settings=settings)
    if held is not None:
        return held, False
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    resident.sms_key = sealing.seal(key, label=_LABEL, row=str(resident.id), settings=settings)
    return key, True


def key_of(resident: Resident, *, settings: Settings) -> str | None:
    """``resident``'s key, or None if they have none (or it cannot be opened with the configured key: their SMS then
    do not verify and are raised flagged, until the next sign-in issues a new one)."""
    if resident.sms_key is None:
        return None
    try:
        return sealing.unseal(resident.sms_key, label=_LABEL, row=str(resident.id), settings=settings)
    except sealing.CannotOpen:
        return None
