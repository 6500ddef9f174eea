"""Officers answer by SMS: ``1 4821`` accepts the offer that came with code 4821, ``2 4821`` reports the unit en
route, ``3 4821`` on scene and ``4 4821`` resolved (anything after the code is the short report).

The reply goes through the same use cases as the officer app, as that officer (audited, on the timeline), so an SMS
accept races the app's by the same first-accept-wins rule. Only the officer's registered number may answer for
their unit; a reply from another number, a code that is stale or unknown, an offer already taken or closed each get
an answer SMS saying so, in the officer's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal, Role
from siaga.accounts.models import Staff
from siaga.alerts import domain
from siaga.alerts.models import Alert, AlertOffer
from siaga.alerts.raise_rules import NO_LOCATION
from siaga.audit.actor import ActorContext
from siaga.dispatch import bulk, offer_sms
from siaga.dispatch import service as dispatch
from siaga.dispatch.duty import as_officer
from siaga.errors import SiagaError
from siaga.sms.answers import Answer

if TYPE_CHECKING:  # inbound.py lists this module's handler
    from siaga.sms.inbound import Context, InboundSMS

# "1 4821", "1-4821", "14821", then an optional report: a phone's keyboard puts in what it likes between them.
_REPLY = re.compile(r"^\s*([1-4])[\s.,:;#*\-]*(\d{4})(?:\s+(.*?))?\s*$", re.DOTALL)
AUDIT_IP = "sms"  # what an audit record says the officer's request came from

_TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "accepted": "SIAGA {code}: Anda ditugaskan: {what}. Peta: {map}. Balas 2 {code} berangkat, 3 {code} tiba, "
        "4 {code} selesai",
        "accepted_no_location": "SIAGA {code}: Anda ditugaskan: {what}, lokasi belum diketahui; hubungi pusat "
        "komando. Balas 2 {code} berangkat, 3 {code} tiba, 4 {code} selesai",
        "en_route": "SIAGA {code}: tercatat dalam perjalanan. Balas 3 {code} saat tiba",
        "on_scene": "SIAGA {code}: tercatat tiba di lokasi. Balas 4 {code} saat selesai",
        "resolved": "SIAGA {code}: tercatat selesai. Terima kasih",
        "already_yours": "SIAGA {code}: unit Anda sudah menerima tawaran ini",
        "not_an_officer": "SIAGA: nomor ini tidak terdaftar sebagai nomor petugas. Dalam keadaan darurat kirim "
        "TOLONG diikuti tempat Anda, atau telepon 112",
        "not_yours": "SIAGA {code}: kode ini bukan untuk nomor Anda",
        "unknown": "SIAGA {code}: kode tidak dikenal atau sudah tidak berlaku",
        "offer.taken": "SIAGA {code}: sudah diambil unit lain. Terima kasih",
        "alert.taken": "SIAGA {code}: sudah diambil unit lain. Terima kasih",
        "offer.expired": "SIAGA {code}: tawaran sudah habis waktu dan diteruskan ke unit lain",
        "offer.declined": "SIAGA {code}: tawaran ini sudah ditolak",
        "alert.closed": "SIAGA {code}: kejadian ini sudah ditutup",
        "alert.not_assigned_to_you": "SIAGA {code}: kejadian ini tidak ditugaskan ke unit Anda. Balas 1 {code} "
        "untuk terima",
        "alert.already_en_route": "SIAGA {code}: unit Anda sudah tercatat dalam perjalanan",
        "alert.already_on_scene": "SIAGA {code}: unit Anda sudah tercatat tiba di lokasi",
        "unit.off_duty": "SIAGA {code}: Anda tidak sedang bertugas. Mulai tugas di aplikasi petugas",
        "refused": "SIAGA {code}: tidak dapat diproses ({reason})",
    },
    "en": {
        "accepted": "SIAGA {code}: assigned to you: {what}. Map: {map}. Reply 2 {code} en route, 3 {code} on scene, "
        "4 {code} resolved",
        "accepted_no_location": "SIAGA {code}: assigned to you: {what}, location not known yet; call the command "
        "centre. Reply 2 {code} en route, 3 {code} on scene, 4 {code} resolved",
        "en_route": "SIAGA {code}: recorded en route. Reply 3 {code} on arrival",
        "on_scene": "SIAGA {code}: recorded on scene. Reply 4 {code} when resolved",
        "resolved": "SIAGA {code}: recorded resolved. Thank you",
        "already_yours": "SIAGA {code}: your unit already accepted this offer",
        "not_an_officer": "SIAGA: this number is not registered as an officer's number. In an emergency text "
        "TOLONG followed by where you are, or call 112",
        "not_yours": "SIAGA {code}: this code is not for your number",
        "unknown": "SIAGA {code}: unknown or expired code",
        "offer.taken": "SIAGA {code}: another unit has already taken it. Thank you",
        "alert.taken": "SIAGA {code}: another unit has already taken it. Thank you",
        "offer.expired": "SIAGA {code}: the offer timed out and went to other units",
        "offer.declined": "SIAGA {code}: this offer was declined",
        "alert.closed": "SIAGA {code}: this incident is already closed",
        "alert.not_assigned_to_you": "SIAGA {code}: this incident is not assigned to your unit. Reply 1 {code} to "
        "accept",
        "alert.already_en_route": "SIAGA {code}: your unit is already recorded en route",
        "alert.already_on_scene": "SIAGA {code}: your unit is already recorded on scene",
        "unit.off_duty": "SIAGA {code}: you are off duty. Go on duty in the officer app",
        "refused": "SIAGA {code}: could not be done ({reason})",
    },
}

_STATUS = {2: "en_route", 3: "on_scene", 4: "resolved"}
# The report of an alert resolved by SMS whose reply says nothing more (the command centre reads it in Indonesian).
SMS_REPORT = "Diselesaikan lewat SMS"


def _say(language: str, key: str, **values: str) -> str:
    texts = _TEXTS["en" if language == "en" else "id"]
    return texts.get(key, texts["refused"]).format(**values)


@dataclass(frozen=True, slots=True)
class Reply:
    """An officer's answer, as read from the SMS."""

    action: int  # 1 accept, 2 en route, 3 on scene, 4 resolved
    code: str
    report: str

    @classmethod
    def read(cls, text: str) -> Reply | None:
        match = _REPLY.match(text)
        if match is None:
            return None
        return cls(action=int(match[1]), code=match[2], report=(match[3] or "").strip())

    def command(self) -> domain.Command:
        if self.action == 2:
            return domain.MarkEnRoute()
        if self.action == 3:
            return domain.MarkOnScene()
        return domain.Resolve(domain.Outcome.GENUINE, self.resolve_report())

    def resolve_report(self) -> str:
        """The officer's words after "4 <code>", or where they are too few for a report (often none: an SMS is
        typed in a hurry), that the alert was resolved by SMS, with any words they did send."""
        try:
            return domain.checked_report(self.report)
        except domain.TransitionError:
            return f"{SMS_REPORT}: {self.report}" if self.report else SMS_REPORT


async def answer_offer(context: Context, message: InboundSMS) -> str | Answer | None:
    """The handler for officers' replies (``HANDLERS``): None for a message that is not one, or that does not come
    from an officer's registered number (``unknown_number`` answers those). Its answers go to registered officers
    only, so they are never held back by the limits against SMS pumping."""
    reply = Reply.read(message.text)
    if reply is None:
        return None
    async with context.unit_of_work() as session:
        officers = await _officers_with_number(session, message.sender)
        if not officers:
            return None
        found = await _offer_for(session, reply.code, officers)
        if found is None:
            key = "not_yours" if await _live_elsewhere(session, reply.code) else "unknown"
            return _say(_language(officers[0]), key, code=reply.code)
        offer, officer = found
        offer_id, alert_id = offer.id, offer.alert_id
    principal = as_officer(officer)
    language = _language(officer)
    try:
        if reply.action == 1:
            return Answer(await _accept(context, principal, offer_id, reply.code, language), alert_id)
        await bulk.act_audited(context, bulk.Caller(principal=principal, ip=AUDIT_IP), alert_id, reply.command())
    except SiagaError as error:
        key = error.code
        if key == "alert.invalid_transition" and reply.action == 2:
            key = "alert.already_on_scene"  # the unit's own open alert refuses en route only once it is on scene
        return Answer(_say(language, key, code=reply.code, reason=error.message), alert_id)
    return Answer(_say(language, _STATUS[reply.action], code=reply.code), alert_id)


async def unknown_number(context: Context, message: InboundSMS) -> str | None:
    """An officer's reply from a number that is no officer's (``HANDLERS``, after ``answer_offer``): told so, within
    the limits on replies (anyone can text this)."""
    if Reply.read(message.text) is None:
        return None
    return _say("id", "not_an_officer")


async def _accept(context: Context, principal: Principal, offer_id: int, code: str, language: str) -> str:
    """``dispatch.accept_offer``, as the app's accept: the first officer to accept gets the alert."""
    try:
        async with context.unit_of_work() as session:
            answer = await dispatch.accept_offer(
                session, principal=principal, offer_id=offer_id, by=ActorContext.signed_in(principal, AUDIT_IP)
            )
            alert = answer.alert
            place = await offer_sms.place_of(session, alert)
    except dispatch.OfferAlreadyAccepted:
        return _say(language, "already_yours", code=code)
    what = offer_sms.incident_text(language=language, category=alert.category, place=place)
    if alert.placement == NO_LOCATION:  # placed in its kecamatan: a map pin there would send the officer astray
        return _say(language, "accepted_no_location", code=code, what=what)
    link = context.settings.contact_map_link.format(lat=f"{alert.lat:.5f}", lon=f"{alert.lon:.5f}")
    return _say(language, "accepted", code=code, what=what, map=link)


def _language(officer: Staff) -> str:
    return "en" if officer.language == "en" else "id"


async def _officers_with_number(session: AsyncSession, phone: str) -> list[Staff]:
    """The active officers of a unit whose registered number this is (one person may hold two accounts)."""
    rows = await session.scalars(
        select(Staff)
        .where(
            Staff.phone == phone,
            Staff.role == Role.OFFICER.value,
            Staff.active.is_(True),
            Staff.unit_id.is_not(None),
        )
        .order_by(Staff.id)
    )
    return list(rows.all())


async def _offer_for(session: AsyncSession, code: str, officers: list[Staff]) -> tuple[AlertOffer, Staff] | None:
    """The newest offer with this code to one of these officers' units (a code is given again only once its offer is
    over, so the newest is the one meant), with the officer it was for."""
    by_unit = {o.unit_id: o for o in officers}
    offer = await session.scalar(
        select(AlertOffer)
        .where(AlertOffer.sms_code == code, AlertOffer.unit_id.in_(list(by_unit)))
        .order_by(AlertOffer.id.desc())
        .limit(1)
    )
    return None if offer is None else (offer, by_unit[offer.unit_id])


async def _live_elsewhere(session: AsyncSession, code: str) -> bool:
    """Whether a live offer to another unit has this code: the reply came from the wrong number."""
    found = await session.scalar(
        select(AlertOffer.id)
        .join(Alert, Alert.id == AlertOffer.alert_id)
        .where(AlertOffer.sms_code == code, offer_sms.live_offer())
        .limit(1)
    )
    return found is not None
