"""Registering by SMS, for a phone without the app: ``DAFTAR <nama> <NIK>``, then the code Siaga texts back.

``DAFTAR Siti Aminah 3273024506900001`` asks for a one-time code exactly as the app does (the same code SMS, the same
limits per number), and the reply says what to do next. The phone then answers with the code (the six digits, alone
or after ``KODE``): that proves the number, and the resident is made, or the bare account an earlier SOS made for the
number completed, with the name and NIK of the latest DAFTAR from that number within the code's life (the messages
are kept, see ``siaga.sms.models``). The NIK is checked as in the app (region, birth date); one another number holds
is accepted and flagged for a supervisor, as in the app. A malformed DAFTAR, a wrong NIK, too many codes or a wrong
code gets a reply saying what is wrong, in the sender's language. A six-digit message from a number with no DAFTAR
waiting is not this handler's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from siaga.accounts import identity
from siaga.accounts import service as accounts
from siaga.accounts.models import Resident
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import SiagaError, TooManyRequests
from siaga.notify import service as notify
from siaga.sms.models import InboundMessage
from siaga.text import clean_text

if TYPE_CHECKING:  # inbound.py lists this module's handlers
    from siaga.sms.inbound import Context, InboundSMS

_DAFTAR = re.compile(r"^\s*DAFTAR(?![^\W_])[\s:.,-]*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"^\s*(?:KODE[\s:.-]*)?(?P<code>\d{6})\s*\.?\s*$", re.IGNORECASE)
NAME_LIMIT = 200

_REPLIES = {
    "usage": {
        "id": "SIAGA: Untuk mendaftar kirim DAFTAR <nama> <NIK 16 angka>, mis. DAFTAR Siti Aminah 3273024506900001",
        "en": "SIAGA: To register text DAFTAR <name> <16-digit NIK>, e.g. DAFTAR Siti Aminah 3273024506900001",
    },
    "nik": {
        "id": "SIAGA: NIK {nik} tidak valid ({why}). Periksa KTP Anda dan kirim lagi: DAFTAR <nama> <NIK>",
        "en": "SIAGA: NIK {nik} is not valid ({why}). Check your ID card and text again: DAFTAR <name> <NIK>",
    },
    "code_sent": {
        "id": "SIAGA: Kode 6 angka dikirim ke nomor ini. Balas dengan kode itu dalam {minutes} menit untuk "
        "menyelesaikan pendaftaran {name}.",
        "en": "SIAGA: A 6-digit code was sent to this number. Reply with it within {minutes} minutes to finish "
        "registering {name}.",
    },
    "registered": {
        "id": "SIAGA: Pendaftaran {name} selesai. Saat darurat kirim SOS atau TOLONG diikuti tempat Anda ke nomor ini.",
        "en": "SIAGA: {name} is registered. In an emergency text SOS or TOLONG followed by where you are to this "
        "number.",
    },
    "already": {
        "id": "SIAGA: Nomor ini sudah terdaftar. Saat darurat kirim SOS atau TOLONG diikuti tempat Anda.",
        "en": "SIAGA: This number is already registered. In an emergency text SOS or TOLONG and where you are.",
    },
    "otp.cooldown": {
        "id": "SIAGA: Kode baru saja dikirim. Tunggu sebentar lalu kirim DAFTAR lagi bila kode tidak datang.",
        "en": "SIAGA: A code was just sent. Wait a moment, then text DAFTAR again if it does not arrive.",
    },
    "otp.limit": {
        "id": "SIAGA: Terlalu banyak kode diminta untuk nomor ini. Coba lagi dalam satu jam.",
        "en": "SIAGA: Too many codes were asked for this number. Try again within the hour.",
    },
    "otp.wrong": {
        "id": "SIAGA: Kode salah. Sisa {left} percobaan.",
        "en": "SIAGA: Wrong code. {left} attempt(s) left.",
    },
    "otp.again": {
        "id": "SIAGA: Kode tidak berlaku lagi. Kirim DAFTAR <nama> <NIK> untuk kode baru.",
        "en": "SIAGA: That code is no longer valid. Text DAFTAR <name> <NIK> for a new one.",
    },
}
_NIK_REASONS = {
    "nik.format": {"id": "harus 16 angka", "en": "it must be 16 digits"},
    "nik.region": {"id": "kode wilayah tidak dikenal", "en": "its region code is not known"},
    "nik.birth_date": {"id": "tanggal lahir tidak sah", "en": "its birth date is not valid"},
    "nik.serial": {"id": "nomor urut 0000 tidak sah", "en": "serial 0000 is not valid"},
}


def _say(key: str, language: str, **fields: object) -> str:
    texts = _REPLIES[key]
    return texts.get(language, texts["id"]).format(**fields)


@dataclass(frozen=True, slots=True)
class Registration:
    """What a DAFTAR asks for: the name and the NIK as written (checked when it is handled)."""

    name: str
    nik: str


def read_daftar(text: str) -> Registration | None:
    """The name and NIK of a DAFTAR message (a NIK written with dots or dashes between its digits too); a DAFTAR
    with something missing has an empty field; None if the message is not a DAFTAR at all."""
    found = _DAFTAR.match(text)
    if found is None:
        return None
    words = clean_text(found.group("rest")).split()
    if not words:
        return Registration(name="", nik="")
    nik = re.sub(r"[.\-]", "", words[-1])
    if not nik.isdigit():
        return Registration(name=" ".join(words)[:NAME_LIMIT], nik="")
    return Registration(name=" ".join(words[:-1])[:NAME_LIMIT], nik=nik)


async def daftar(context: Context, sms: InboundSMS) -> str | None:
    """Claim ``DAFTAR <nama> <NIK>``: check it and send the code; the reply says what to do next."""
    asked = read_daftar(sms.text)
    if asked is None:
        return None
    language = await _language(context, sms.sender)
    if not asked.nik or not any(c.isalpha() for c in asked.name):
        return _say("usage", language)
    try:
        identity.parse_nik(asked.nik)
    except identity.InvalidNIK as exc:
        reason = _NIK_REASONS.get(exc.code, _NIK_REASONS["nik.format"])
        return _say("nik", language, nik=asked.nik[:20], why=reason.get(language, reason["id"]))
    client = _client(sms)
    try:
        async with context.unit_of_work() as session:
            holder = await session.scalar(select(Resident).where(Resident.phone == sms.sender))
            if holder is not None and holder.name is not None and holder.nik is not None:
                return _say("already", language)
            _, message_id = await accounts.request_code(
                session, settings=context.settings, phone_raw=sms.sender, client_ip=client
            )
    except TooManyRequests as exc:
        return _say("otp.cooldown" if exc.code == "otp.cooldown" else "otp.limit", language)
    except SiagaError:
        return _say("usage", language)  # a sender that is not a mobile number: nothing can be sent to it
    # After the commit, as the app's request does; a failed send is recorded and retried.
    await notify.deliver(context.unit_of_work, context.sms, [message_id])
    minutes = max(1, context.settings.otp_ttl_seconds // 60)
    return _say("code_sent", language, minutes=minutes, name=asked.name)


async def code_reply(context: Context, sms: InboundSMS) -> str | None:
    """Claim the six digits of a code from a number with a DAFTAR waiting, and register it."""
    found = _CODE.match(sms.text)
    if found is None:
        return None
    asked = await _waiting(context, sms)
    if asked is None:
        return None
    language = await _language(context, sms.sender)
    by = ActorContext.anonymous(sms.sender, _client(sms))
    async with context.unit_of_work() as session:
        registered = await accounts.register_with_code(
            session,
            settings=context.settings,
            phone=sms.sender,
            code=found.group("code"),
            name=asked.name,
            nik=asked.nik,
            way="sms",
            client_ip=_client(sms),
            by=by,
        )
        if isinstance(registered, accounts.CodeFailure):
            return _refusal(registered.error, language)  # committed with the wrong guess counted
        language = registered.language or language
    return _say("registered", language, name=asked.name)


def _refusal(error: SiagaError, language: str) -> str:
    if error.code == "otp.wrong":
        return _say("otp.wrong", language, left=error.details.get("attempts_left", 0))
    return _say("otp.again", language)


def _client(sms: InboundSMS) -> str:
    """The "address" the code limits count for a request by SMS: the number itself."""
    return f"sms:{sms.sender}"


async def _waiting(context: Context, sms: InboundSMS) -> Registration | None:
    """The latest valid DAFTAR from the sender within a code's life, if any."""
    since = utcnow() - timedelta(seconds=context.settings.otp_ttl_seconds)
    async with context.unit_of_work() as session:
        texts = (
            await session.scalars(
                select(InboundMessage.text)
                .where(
                    InboundMessage.sender == sms.sender,
                    InboundMessage.received_at >= since,
                    InboundMessage.id != sms.id,
                )
                .order_by(InboundMessage.id.desc())
                .limit(20)
            )
        ).all()
    for text in texts:
        asked = read_daftar(text)
        if asked is not None and _valid(asked):
            return asked
    return None


def _valid(asked: Registration) -> bool:
    try:
        identity.parse_nik(asked.nik)
    except identity.InvalidNIK:
        return False
    return any(c.isalpha() for c in asked.name)


async def _language(context: Context, sender: str) -> str:
    async with context.unit_of_work() as session:
        language = await session.scalar(select(Resident.language).where(Resident.phone == sender))
    return language or "id"
