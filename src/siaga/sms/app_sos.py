"""The resident app's SOS by SMS (``siaga.sms.sos_message``): verified, then raised through the one door.

A message that starts ``SIAGA1`` is this handler's, readable or not. A verified one (its MAC is the one the sending
number's resident's key makes) is raised as the press it carries: channel ``sms``, the alert's own id (so the same
press arriving over data, before or after, is the same alert, and so is the same SMS received again), the position
and the category. Anything else (a wrong MAC, a number that is not the resident's or has no key, a garbled message)
is still an SOS, never dropped: raised flagged ``unverified_sms`` for the sending number (an account made for a
number that has none), with what it says (a garbled message's text is the alert's description), under an id of its
own derived from the number and the text: the same message again is the same alert while that alert is open, and it
can never take the id of a resident's real press (whose data path would then be refused). The sender is answered in
their language."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from siaga.alerts import raise_rules
from siaga.alerts.domain import ACTIVE_STATES, AlertState, Category
from siaga.alerts.ingest import Raced
from siaga.alerts.models import Alert, AlertPress
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest
from siaga.sms import answers, senders, sos_message
from siaga.text import clean_text

if TYPE_CHECKING:  # inbound.py lists this module's handler
    from siaga.sms.inbound import Context, InboundSMS

# The ids this handler derives (an unverified message's): uuid5 of the number and the text, or of the received
# message's record for a message whose alert is closed or whose id another resident's alert holds.
ID_NAMESPACE = uuid.UUID("6f0b7c4e-2d1a-5e8f-9b3c-a4d5e6f70812")
DESCRIPTION_LIMIT = 500


async def handle(context: Context, sms: InboundSMS) -> answers.Answer | None:
    """Claim an SMS that starts ``SIAGA1`` and raise its SOS; the reply to the sender."""
    if not sos_message.looks_like(sms.text):
        return None
    sender = await senders.identify(context, sms)
    try:
        signed: sos_message.Signed | None = sos_message.read(sms.text)
    except sos_message.Garbled:
        signed = None
    key = sender.sms_key
    verified = signed is not None and key is not None and signed.verifies(key.encode("ascii"))
    text = signed.body if signed is not None else " ".join(sms.text.split())
    if signed is not None and verified:
        alert_id = signed.sos.alert_id
    else:
        alert_id = uuid.uuid5(ID_NAMESPACE, f"{sender.resident_id}:{text}")
    stored = await _raise(context, _request(sms, sender, signed, text=text, alert_id=alert_id, verified=verified))
    alert = alert_id if stored is None else stored.alert_id
    ours = stored is None or stored.resident_id == sender.resident_id
    if not ours or (not verified and stored is not None and stored.state not in ACTIVE_STATES):
        # Its id is another resident's alert (a copy of someone's SMS), or this text's earlier alert is closed: an SOS
        # all the same, raised under an id of its own.
        fresh = uuid.uuid5(ID_NAMESPACE, f"{sms.gateway}:{sms.id}")
        again = await _raise(context, _request(sms, sender, signed, text=text, alert_id=fresh, verified=False))
        alert = fresh if again is None else again.alert_id
    if signed is not None and signed.sos.silent:
        return answers.Answer("", alert)  # a silent press: no reply, so the phone makes no sound
    return answers.Answer(_reply(sender.language), alert)


def _request(
    sms: InboundSMS,
    sender: senders.Sender,
    signed: sos_message.Signed | None,
    *,
    text: str,
    alert_id: uuid.UUID,
    verified: bool,
) -> RaiseRequest:
    sos = signed.sos if signed is not None else None
    position = None
    if sos is not None and sos.lat is not None and sos.lon is not None:
        position = Position(sos.lat, sos.lon, sos.accuracy_m, sos.pressed_at)
    return RaiseRequest(
        id=alert_id,
        fingerprint=raise_rules.fingerprint({"sms": text}),
        caller=Caller(
            kind=CallerKind.RESIDENT,
            id=str(sender.resident_id),
            name=sender.name,
            resident_id=sender.resident_id,
            unregistered=sender.unregistered,
            unverified=not verified,
        ),
        category=sos.category if sos is not None else Category.LAINNYA,
        received_at=sms.received_at,
        channel="sms",
        position=position,
        silent=sos.silent if sos is not None else False,
        # A readable message's fields are all on the alert; a garbled one's text is all there is to go on.
        description="" if signed is not None else clean_text(sms.text.strip())[:DESCRIPTION_LIMIT],
        pressed_at=sos.pressed_at if sos is not None else None,
        place_hint=sender.kecamatan if position is None else None,
    )


@dataclass(frozen=True, slots=True)
class _Stored:
    """The alert already holding a request's id (its own, or the alert a press with it joined)."""

    alert_id: uuid.UUID
    resident_id: uuid.UUID
    state: AlertState


async def _raise(context: Context, request: RaiseRequest) -> _Stored | None:
    """Raise ``request``: None once it is stored, or the alert that already holds its id (a press joined to an
    alert: that alert). The same resident's id is their press whatever the message says besides (the app writes the
    message again when the phone's fix arrives; the data path sends the press with its own fields): laxer than
    ``raise_rules.same_press``, which refuses other content in the same channel, because a press is never turned
    away."""
    try:
        await context.ingest.submit(request)
    except Raced:
        async with context.unit_of_work() as session:
            alert = await session.get(Alert, request.id)
            if alert is None:
                joined = await session.get(AlertPress, request.id)
                alert = await session.get(Alert, joined.alert_id) if joined is not None else None
            if alert is None:
                raise  # neither stored nor joined: the pipeline tries the message again
            return _Stored(alert.id, alert.resident_id, AlertState(alert.state))
    return None


def _reply(language: str) -> str:
    if language == "en":
        return (
            "SIAGA: your SOS has reached the command centre. Help is being arranged. Stay somewhere safe and keep "
            "your phone on."
        )
    return (
        "SIAGA: SOS Anda sudah diterima pusat komando. Bantuan sedang diatur. Tetap di tempat aman dan jangan "
        "matikan telepon Anda."
    )
