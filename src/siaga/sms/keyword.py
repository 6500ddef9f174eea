"""SOS from a feature phone: a keyword (``SOS``, ``TOLONG`` or ``DARURAT``, any case) and optional free text.

``TOLONG di pasar Cicadas`` from a resident's number raises an alert for that resident through the one door:
channel ``sms``, no position (flagged ``no_location``), placed in the kecamatan of the resident's NIK, the free text
as its description. A number with no account is raised too, for a bare account made for the number (flagged
``unregistered_number``): never dropped. The alert's id is derived from the gateway's id for the message, so the same
message delivered or handled twice is one alert. The sender is told the command centre has it, in their language.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import TYPE_CHECKING

from siaga.alerts import raise_rules
from siaga.alerts.domain import Category
from siaga.alerts.ingest import Raced
from siaga.alerts.raise_rules import Caller, CallerKind, RaiseRequest
from siaga.sms import answers, senders
from siaga.text import clean_text

if TYPE_CHECKING:  # inbound.py lists this module's handler
    from siaga.sms.inbound import Context, InboundSMS

KEYWORDS = ("SOS", "TOLONG", "DARURAT")
# The keyword first (after any spaces or punctuation a phone adds), then anything: "tolong!! di pasar", "SOS: rumah".
_KEYWORD = re.compile(r"^[\s\W_]*(?:SOS|TOLONG|DARURAT)(?![^\W_])[\s\W_]*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
ID_NAMESPACE = uuid.UUID("0d8f3b52-6c1e-5a47-9e2d-3b4c5d6e7f81")  # uuid5 of the gateway's id for the message
DESCRIPTION_LIMIT = 500

_CONFIRMED = {
    "id": "SIAGA: SOS Anda diterima pusat komando. Bantuan sedang diatur; kami akan menghubungi nomor ini. "
    "Tetap di tempat aman.",
    "en": "SIAGA: your SOS has reached the command centre. Help is being arranged; we will call this number. "
    "Stay somewhere safe.",
}


def free_text(text: str) -> str | None:
    """What follows the keyword (``""`` if nothing), or None if the message does not start with one."""
    found = _KEYWORD.match(text)
    if found is None:
        return None
    return " ".join(clean_text(found.group("rest")).split())[:DESCRIPTION_LIMIT]


def confirmation(language: str) -> str:
    """The reply to a keyword SOS."""
    return _CONFIRMED.get(language, _CONFIRMED["id"])


def alert_id(sms: InboundSMS) -> uuid.UUID:
    """The alert's id, from the gateway's own id for the message (else the message's record)."""
    return uuid.uuid5(ID_NAMESPACE, f"{sms.gateway}:{sms.gateway_id or sms.id}")


async def sos_keyword(context: Context, sms: InboundSMS) -> answers.Answer | None:
    """Claim a keyword SMS and raise its SOS; the reply to the sender."""
    words = free_text(sms.text)
    if words is None:
        return None
    sender = await senders.identify(context, sms)
    request = RaiseRequest(
        id=alert_id(sms),
        fingerprint=raise_rules.fingerprint({"sms": sms.gateway, "id": sms.gateway_id or str(sms.id)}),
        caller=Caller(
            kind=CallerKind.RESIDENT,
            id=str(sender.resident_id),
            name=sender.name,
            resident_id=sender.resident_id,
            unregistered=sender.unregistered,
        ),
        category=Category.LAINNYA,
        received_at=sms.received_at,
        channel="sms",
        description=words,
        place_hint=sender.kecamatan,
    )
    with contextlib.suppress(Raced):  # raised before (handled again after a restart): the stored alert is its alert
        await context.ingest.submit(request)
    return answers.Answer(confirmation(sender.language), await answers.alert_of(context, request.id))
