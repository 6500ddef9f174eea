"""Each subscription's signing secret: made here, sealed at rest (``accounts.sealing``), shown once (at creation
and at each rotation), never logged; and the Standard Webhooks headers signed with it.

After a rotation the old secret still signs until its grace period ends: every message then carries both
signatures, space-separated in ``webhook-signature`` as the specification allows, so a receiver verifies with
either while it changes its configuration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from siaga.accounts.sealing import seal, unseal
from siaga.config import Settings
from siaga.webhooks.models import WebhookSubscription

LABEL = b"siaga webhook signing secret"


def _row(subscription_id: int) -> str:
    return f"webhook:{subscription_id}"


def sealed(settings: Settings, subscription_id: int, secret: str) -> str:
    """``secret`` as stored for that subscription."""
    return seal(secret, label=LABEL, row=_row(subscription_id), settings=settings)


def signing_secrets(settings: Settings, subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign its messages now: the current one, and the previous one during its grace period."""
    row = _row(subscription.id)
    keys = [unseal(subscription.secret, label=LABEL, row=row, settings=settings)]
    until = subscription.previous_until
    if subscription.previous_secret and until is not None and now < until:
        keys.append(unseal(subscription.previous_secret, label=LABEL, row=row, settings=settings))
    return keys


def signed_headers(keys: Sequence[str], *, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (one ``v1,`` signature per secret)."""
    signatures = " ".join(Webhook(key).sign(message_id, at, body) for key in keys)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
