"""What a resident who raised an SOS by SMS is told afterwards: that officers are on their way.

A phone without data sees nothing of the alert but SMS. Once a unit is dispatched to an alert that came in by SMS
(a feature phone's keyword, or the app's SOS sent as an SMS), its resident gets one SMS saying so, with the unit's
callsign, in their language. It is found from the database, not from an event, so a restart never loses it: each
round looks for such alerts whose resident has not been told yet, and telling them is recorded as the message
itself (``notify``: sent after the commit, retried, its failure on the alert's timeline).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siaga.accounts.models import Resident
from siaga.accounts.turns import take_turns
from siaga.alerts.domain import AlertState
from siaga.alerts.models import Alert
from siaga.db import utcnow
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage
from siaga.responders.models import Unit
from siaga.sms import inbound
from siaga.sms.inbound import Context

OFFICER_COMING = "sms_officer_coming"  # the purpose of the message in notify's records
RECENT = timedelta(hours=6)  # alerts dispatched longer ago than this are not looked at again
_ON_THEIR_WAY = (AlertState.DISPATCHED.value, AlertState.EN_ROUTE.value, AlertState.ON_SCENE.value)

_TEXT = {
    "id": "SIAGA: Petugas {unit} sedang menuju lokasi Anda. Tetap di tempat aman; kami akan menelepon nomor ini.",
    "en": "SIAGA: officers ({unit}) are on their way to you. Stay somewhere safe; we will call this number.",
}


def officer_coming_text(language: str, *, unit: str) -> str:
    return _TEXT.get(language, _TEXT["id"]).format(unit=unit)


async def follow_up(context: Context) -> int:
    """One round: messages whose handling failed tried again, then residents of SMS alerts told a unit is coming.
    Returns how many residents were told."""
    await inbound.handle_pending(context)
    return await tell_officer_coming(context)


async def tell_officer_coming(context: Context) -> int:
    """Queue the "officers are on their way" SMS for every alert that came in by SMS, has a unit now, and whose
    resident has not been told yet. Returns how many were queued."""
    async with context.unit_of_work() as session:
        await take_turns(session, "sms-officer-coming")  # two processes' rounds: one tells, the other sees it told
        rows = (
            await session.execute(
                select(Alert.id, Resident.phone, Resident.language, Unit.callsign)
                .join(Resident, Resident.id == Alert.resident_id)
                .join(Unit, Unit.id == Alert.unit_id)
                .where(
                    Alert.channel == "sms",
                    Alert.silent.is_(False),  # a silent press by SMS: nothing may ring or light up the phone
                    Alert.state.in_(_ON_THEIR_WAY),
                    Alert.dispatched_at >= utcnow() - RECENT,
                    Resident.phone.startswith("+"),
                )
                .order_by(Alert.dispatched_at)
                .limit(500)
            )
        ).all()
        if not rows:
            return 0
        told = set(
            (
                await session.scalars(
                    select(OutboundMessage.alert_id).where(
                        OutboundMessage.purpose == OFFICER_COMING,
                        OutboundMessage.alert_id.in_([str(row[0]) for row in rows]),
                    )
                )
            ).all()
        )
        rows = [row for row in rows if str(row[0]) not in told]
        for alert_id, phone, language, callsign in rows:
            await notify.queue_sms(
                session,
                to=phone,
                body=officer_coming_text(language or "id", unit=callsign),
                purpose=OFFICER_COMING,
                adapter=context.settings.sms_adapter,
                alert_id=str(alert_id),
            )
    return len(rows)
