"""Direct offers by SMS, for an officer whose phone has no open stream (no data, the app closed, the phone asleep).

Each such officer of an offered unit gets the offer as a short SMS with a four-digit code, in their language:
``SIAGA 4821: kecelakaan di Coblong 600 m. Balas 1 4821 untuk terima``. They answer with the code (``1`` accepts,
``2`` en route, ``3`` on scene, ``4`` resolved; see ``siaga.sms.officers``). A code is unique among live offers
(pending, or accepted while the unit holds the alert), so it names one offer; once its offer is over it may be given
to another. The SMS is queued with notify's other messages: recorded, sent after the commit, retried with backoff,
and a failure shows on the alert's timeline like any other delivery failure."""

from __future__ import annotations

import secrets
from collections.abc import Container, Sequence
from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from siaga.accounts.domain import Role
from siaga.accounts.models import Staff
from siaga.accounts.turns import take_turns
from siaga.agencies.models import Jurisdiction
from siaga.alerts.domain import ACTIVE_STATES
from siaga.alerts.models import Alert, AlertOffer, OfferState
from siaga.config import Settings
from siaga.db import utcnow
from siaga.dispatch.models import OfficerStream
from siaga.notify import service as notify
from siaga.responders.models import DutyPeriod

OFFER_SMS = "officer_offer"  # the purpose of an offer's SMS in notify's records
CODE_DIGITS = 4
_CODES = range(10 ** (CODE_DIGITS - 1), 10**CODE_DIGITS)  # 1000-9999: no leading zero for a phone to drop
_CODE_TURNS = "siaga.offer-sms-codes"
_SPARE_DRAWS = 8  # codes drawn beyond twice those wanted: all live only when most of the codes are
_RANDOM = secrets.SystemRandom()
# A process renews the row of an officer whose stream it holds every 15 s (``realtime.presence``): one not renewed
# for this long is a process that died, and the officer is texted again.
STREAM_FRESH = timedelta(seconds=45)

# The categories as an officer reads them (the apps' own words, common.category.* in the i18n catalogues).
_CATEGORIES = {
    "id": {
        "kriminalitas": "kriminalitas",
        "kecelakaan": "kecelakaan",
        "kebakaran": "kebakaran",
        "kesehatan": "kesehatan",
        "kdrt": "KDRT",
        "bencana_alam": "bencana alam",
        "kerusuhan": "kerusuhan",
        "lainnya": "lainnya",
    },
    "en": {
        "kriminalitas": "crime",
        "kecelakaan": "accident",
        "kebakaran": "fire",
        "kesehatan": "medical",
        "kdrt": "domestic violence",
        "bencana_alam": "natural disaster",
        "kerusuhan": "riot",
        "lainnya": "other",
    },
}


def live_offer() -> ColumnElement[bool]:
    """An offer whose code still answers: pending, or accepted while its unit holds the still active alert (the
    officer reports en route, on scene and resolved with the same code). The query joins ``Alert``."""
    return or_(
        AlertOffer.state == OfferState.PENDING.value,
        and_(
            AlertOffer.state == OfferState.ACCEPTED.value,
            Alert.unit_id == AlertOffer.unit_id,
            Alert.state.in_([s.value for s in ACTIVE_STATES]),
        ),
    )


def distance_text(metres: float, language: str) -> str:
    """``600 m`` under a kilometre (to ten metres), else ``1,2 km`` (``1.2 km`` in English)."""
    rounded = max(10.0, round(metres, -1))
    if rounded < 1000:
        return f"{rounded:.0f} m"
    km = f"{metres / 1000:.1f}"
    return f"{km if language == 'en' else km.replace('.', ',')} km"


def incident_text(*, language: str, category: str, place: str | None) -> str:
    """``kecelakaan di Coblong`` (``accident in Coblong``): what happened where, as an officer reads it."""
    what = _CATEGORIES["en" if language == "en" else "id"].get(category, category)
    if not place:
        return what
    return f"{what} in {place}" if language == "en" else f"{what} di {place}"


def offer_text(*, language: str, code: str, category: str, place: str | None, distance_m: float) -> str:
    """The offer's SMS: short enough for one message, with the code to answer with."""
    incident = incident_text(language=language, category=category, place=place)
    distance = distance_text(distance_m, language)
    if language == "en":
        return f"SIAGA {code}: {incident}, {distance} away. Reply 1 {code} to accept"
    return f"SIAGA {code}: {incident} {distance}. Balas 1 {code} untuk terima"


async def place_of(session: AsyncSession, alert: Alert) -> str | None:
    """The name of the alert's kecamatan, if it has one."""
    if alert.jurisdiction_id is None:
        return None
    return await session.scalar(select(Jurisdiction.name).where(Jurisdiction.id == alert.jurisdiction_id))


async def text_offers(
    session: AsyncSession, *, settings: Settings, offer_ids: Sequence[int], streaming: Container[int]
) -> list[AlertOffer]:
    """Queue the SMS of each offer still pending to the officers of its unit who are on duty, have a phone number
    and no open stream (``streaming``: the staff ids whose officer stream is open in this process; those of other
    processes are in ``OfficerStream``). Returns the offers texted."""
    if not offer_ids:
        return []
    rows = (
        await session.execute(
            select(AlertOffer, Alert, Jurisdiction.name)
            .join(Alert, Alert.id == AlertOffer.alert_id)
            .outerjoin(Jurisdiction, Jurisdiction.id == Alert.jurisdiction_id)
            .where(AlertOffer.id.in_(offer_ids), AlertOffer.state == OfferState.PENDING.value)
            .order_by(AlertOffer.id)
        )
    ).all()
    recipients = await _officers_without_stream(session, [offer.unit_id for offer, _, _ in rows], streaming)
    to_text = [row for row in rows if recipients.get(row[0].unit_id) and row[0].sms_code is None]
    codes = await _new_codes(session, len(to_text))
    for (offer, alert, place), code in zip(to_text, codes, strict=True):
        offer.sms_code = code
        for officer in recipients[offer.unit_id]:
            assert officer.phone is not None
            body = offer_text(
                language=officer.language,
                code=code,
                category=alert.category,
                place=place,
                distance_m=offer.distance_m,
            )
            await notify.queue_sms(
                session,
                to=officer.phone,
                body=body,
                purpose=OFFER_SMS,
                adapter=settings.sms_adapter,
                alert_id=str(alert.id),
            )
    await session.flush()
    return [offer for offer, _, _ in to_text]


async def anyone_to_text(session: AsyncSession, *, offer_ids: Sequence[int], streaming: Container[int]) -> bool:
    """Whether any of these offers, still pending, has an officer to text: read first, so the common case (every
    officer's phone connected) costs a read and no write transaction."""
    units = await session.scalars(
        select(AlertOffer.unit_id).where(AlertOffer.id.in_(offer_ids), AlertOffer.state == OfferState.PENDING.value)
    )
    return bool(await _officers_without_stream(session, list(units.all()), streaming))


async def _officers_without_stream(
    session: AsyncSession, unit_ids: list[int], streaming: Container[int]
) -> dict[int, list[Staff]]:
    """Per unit, its active officers on duty with a phone number and no open stream, here or on another process."""
    if not unit_ids:
        return {}
    streaming_elsewhere = (
        select(OfficerStream.staff_id)
        .where(OfficerStream.staff_id == Staff.id, OfficerStream.seen_at > utcnow() - STREAM_FRESH)
        .exists()
    )
    officers = await session.scalars(
        select(Staff)
        .join(DutyPeriod, and_(DutyPeriod.staff_id == Staff.id, DutyPeriod.ended_at.is_(None)))
        .where(
            Staff.unit_id.in_(unit_ids),
            Staff.role == Role.OFFICER.value,
            Staff.active.is_(True),
            Staff.phone.is_not(None),
            ~streaming_elsewhere,
        )
        .order_by(Staff.id)
    )
    found: dict[int, list[Staff]] = {}
    for officer in officers.unique().all():
        if officer.id not in streaming and officer.unit_id is not None:
            found.setdefault(officer.unit_id, []).append(officer)
    return found


async def _new_codes(session: AsyncSession, count: int) -> list[str]:
    """``count`` different codes no live offer has, each drawn at random from the codes free. Allocations take turns
    until they commit, so two at once never pick the same code. A few more codes than wanted are drawn and only those
    are looked up (the codes' index): one short query, however many offers are live; only when most codes are live
    are all of them read."""
    if count <= 0:
        return []
    await take_turns(session, _CODE_TURNS)
    drawn = [str(code) for code in _RANDOM.sample(_CODES, min(len(_CODES), 2 * count + _SPARE_DRAWS))]
    live = await _live_codes(session, drawn)
    free = [code for code in drawn if code not in live]
    if len(free) >= count:
        return free[:count]
    live = await _live_codes(session, None)
    free = [str(code) for code in _CODES if str(code) not in live]
    _RANDOM.shuffle(free)
    # Nine thousand live offers at once: the SMS still go, with codes that may name two offers.
    return (free + [str(_RANDOM.choice(_CODES)) for _ in range(count)])[:count]


async def _live_codes(session: AsyncSession, among: list[str] | None) -> set[str]:
    """The codes live offers have: of ``among``, or all of them (None)."""
    query = (
        select(AlertOffer.sms_code)
        .join(Alert, Alert.id == AlertOffer.alert_id)
        .where(AlertOffer.sms_code.is_not(None) if among is None else AlertOffer.sms_code.in_(among), live_offer())
    )
    return {code for code in (await session.scalars(query)).all() if code is not None}
