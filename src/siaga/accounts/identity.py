"""Identity checks for residents: the NIK (Nomor Induk Kependudukan) and the phone number.

Pure functions, no I/O apart from reading the packaged region table once. A NIK is 16 digits:

    PP KK CC DDMMYY SSSS
    |  |  |  |      +-- serial within kecamatan and birth date, from 0001
    |  |  |  +-- birth date; women have 40 added to the day
    |  |  +-- kecamatan (district), from 01
    |  +-- regency/city (kabupaten/kota)
    +-- province

There is no check digit, so the strongest checks available are that the region is real and the birth date is a
real, plausible date. A NIK never changes after it is issued, even when its region is later renumbered (for
example the 2022 Papua split), so the region table also keeps retired codes; see ``data/regencies.csv``.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from types import MappingProxyType
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from siaga.errors import Invalid

__all__ = [
    "InvalidNIK",
    "InvalidPhone",
    "NIKInfo",
    "mask_phone",
    "normalize_phone",
    "parse_nik",
    "province_name",
    "regency_name",
]

# Indonesia's easternmost time zone (WIT, UTC+9, no daylight saving). Taking "today" there means a date that
# is already today anywhere in Indonesia is never treated as being in the future.
_WIT = timezone(timedelta(hours=9), "WIT")

# Characters people type inside a NIK to make it readable ("3273 0112 0390 0001", "3273.01.120390.0001").
_NIK_SEPARATORS = re.compile(r"[\s.\-]+")
# ASCII digits only: str.isdigit() also accepts e.g. Arabic-Indic or superscript digits.
_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")
_DIGITS = re.compile(r"[0-9]+")
_FEMALE_DAY_OFFSET = 40


class InvalidNIK(Invalid, ValueError):
    """A NIK that cannot be real. ``code`` is one of nik.format, nik.region, nik.birth_date, nik.serial."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)


class InvalidPhone(Invalid, ValueError):
    """A phone number Siaga cannot use. ``code`` is one of phone.invalid, phone.not_mobile, phone.region."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True, slots=True)
class NIKInfo:
    """What a valid NIK says about its holder."""

    nik: str
    province_code: str
    regency_code: str
    kecamatan_code: str
    birth_date: date
    sex: Literal["F", "M"]
    serial: str


# --- region table -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Regions:
    provinces: MappingProxyType[str, str]
    regencies: MappingProxyType[str, str]


@functools.cache
def _regions() -> _Regions:
    """Load ``data/regencies.csv`` once, on first use (importing this module stays cheap)."""
    text = resources.files("siaga.accounts").joinpath("data/regencies.csv").read_text(encoding="utf-8")
    provinces: dict[str, str] = {}
    regencies: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["code"]
        if len(code) == 2:
            provinces[code] = row["name"]
        else:
            regencies[code] = row["name"]
    return _Regions(MappingProxyType(provinces), MappingProxyType(regencies))


def regency_name(code: str) -> str | None:
    """Name of a regency/city by its 4-digit Kemendagri code ("3273" or "32.73" -> "Kota Bandung").

    Retired codes that still appear on older NIKs give the name of the regency they belong to today. Returns
    None for an unknown code.
    """
    return _regions().regencies.get(code.replace(".", "").strip())


def province_name(code: str) -> str | None:
    """Name of a province by its 2-digit Kemendagri code ("32" -> "Jawa Barat"), or None if unknown."""
    return _regions().provinces.get(code.strip())


# --- NIK ----------------------------------------------------------------------------------------------------


def _jakarta_today() -> date:
    return datetime.now(UTC).astimezone(_WIT).date()


def _resolve_birth_date(day: int, month: int, yy: int, today: date) -> date:
    """Pick the century for a 2-digit birth year: the latest one that is not after ``today``.

    Only this century and the previous one are candidates, so the holder is always 0 to 99 years old.
    """
    this_century = today.year // 100 * 100
    years = [y for y in (this_century + yy, this_century - 100 + yy) if y >= 1]
    future: date | None = None
    for year in years:
        try:
            born = date(year, month, day)
        except ValueError:
            continue
        if born <= today:
            return born
        future = future or born
    if future is not None:
        # Only reachable when the previous century's date does not exist (29 February 1900).
        raise InvalidNIK(f"NIK birth date {future:%d-%m-%Y} is in the future", code="nik.birth_date")
    # Name the year the holder would most plausibly have been born in.
    shown = next((y for y in years if y <= today.year), this_century + yy)
    raise InvalidNIK(f"NIK birth date {day:02d}-{month:02d}-{shown} is not a real date", code="nik.birth_date")


def parse_nik(value: str, *, today: date | None = None) -> NIKInfo:
    """Check a NIK and return what it encodes; raise InvalidNIK saying exactly what is wrong.

    Spaces, dots and dashes a person might type are ignored. ``today`` (default: today's date in Indonesia)
    decides the century of the 2-digit birth year: the holder must be 0 to 99 years old and not born after it.
    """
    if not isinstance(value, str):
        raise InvalidNIK("NIK must be text of 16 digits", code="nik.format")
    nik = _NIK_SEPARATORS.sub("", value)
    if not _SIXTEEN_DIGITS.fullmatch(nik):
        if nik and not _DIGITS.fullmatch(nik):
            raise InvalidNIK("NIK must contain only digits", code="nik.format")
        raise InvalidNIK(f"NIK must be 16 digits, got {len(nik)}", code="nik.format")

    regions = _regions()
    province_code, regency_code, kecamatan_code = nik[:2], nik[:4], nik[:6]
    if province_code not in regions.provinces:
        raise InvalidNIK(f"NIK province {province_code} is not a known province code", code="nik.region")
    if regency_code not in regions.regencies:
        raise InvalidNIK(f"NIK region {regency_code} is not a known regency/city code", code="nik.region")
    if kecamatan_code.endswith("00"):
        # Kecamatan are numbered from 01 within each regency; the table of kecamatan is not shipped.
        raise InvalidNIK(f"NIK kecamatan {kecamatan_code} is not a valid kecamatan code", code="nik.region")

    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex: Literal["F", "M"] = "M"
    if day > _FEMALE_DAY_OFFSET:
        sex = "F"
        day -= _FEMALE_DAY_OFFSET
    if not 1 <= day <= 31:
        raise InvalidNIK(
            f"NIK birth day {nik[6:8]} is not valid (01-31 for men, 41-71 for women)", code="nik.birth_date"
        )
    if not 1 <= month <= 12:
        raise InvalidNIK(f"NIK birth month {nik[8:10]} is not valid (01-12)", code="nik.birth_date")
    birth_date = _resolve_birth_date(day, month, yy, today if today is not None else _jakarta_today())

    serial = nik[12:]
    if serial == "0000":
        raise InvalidNIK("NIK serial 0000 is not valid (serials start at 0001)", code="nik.serial")

    return NIKInfo(
        nik=nik,
        province_code=province_code,
        regency_code=regency_code,
        kecamatan_code=kecamatan_code,
        birth_date=birth_date,
        sex=sex,
        serial=serial,
    )


# --- phone --------------------------------------------------------------------------------------------------

_SMS_CAPABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_TYPE_WORDS = {
    PhoneNumberType.FIXED_LINE: "a landline",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.VOIP: "a VoIP number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.UAN: "a company number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}
_LENGTH_PROBLEMS = {
    ValidationResult.TOO_SHORT: "is too short",
    ValidationResult.TOO_LONG: "is too long",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
    ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
}


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhone(
                f"Phone number {text!r} does not start with a known country code", code="phone.region"
            ) from None
        raise InvalidPhone(f"{text!r} is not a phone number", code="phone.invalid") from None
    if not phonenumbers.is_valid_number(number):
        # "0062 812..." uses 00 as the international prefix, which Indonesian networks do not, so phonenumbers
        # reads it as a national number; people still type it.
        digits = re.sub(r"\D", "", text)
        if text.lstrip().startswith("00") and len(digits) > 2:
            try:
                retry = phonenumbers.parse("+" + digits[2:], region)
            except NumberParseException:
                return number
            if phonenumbers.is_valid_number(retry):
                return retry
    return number


def normalize_phone(value: str, *, default_region: str = "ID", mobile_only: bool = True) -> str:
    """Return a phone number in E.164 form ("0812-3456-7890" -> "+6281234567890") or raise InvalidPhone.

    Numbers without a country code are read as numbers of ``default_region``. With ``mobile_only`` the number
    must be one an SMS code can reach: a mobile number, or one phonenumbers cannot tell from a landline.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidPhone("Phone number is empty", code="phone.invalid")
    region = default_region.upper()
    if phonenumbers.country_code_for_region(region) == 0:
        raise InvalidPhone(f"{default_region!r} is not a known phone region", code="phone.region")
    text = value.strip()
    number = _parse_phone(text, region)
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        problem = _LENGTH_PROBLEMS.get(reason, "is not a valid phone number")
        code = "phone.region" if reason == ValidationResult.INVALID_COUNTRY_CODE else "phone.invalid"
        raise InvalidPhone(f"Phone number {text!r} {problem}", code=code)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if mobile_only:
        kind = phonenumbers.number_type(number)
        if kind not in _SMS_CAPABLE:
            what = _TYPE_WORDS.get(kind, "not a mobile number")
            raise InvalidPhone(
                f"Phone number {e164} is {what}; a mobile number is needed to receive the SMS code",
                code="phone.not_mobile",
            )
    return e164


def mask_phone(e164: str) -> str:
    """Hide the middle of an E.164 number for logs and staff lists: "+6281234567890" -> "+62812****7890".

    Never raises; anything that is not an E.164 number is masked completely.
    """
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", e164):
        return "***"
    try:
        country = str(phonenumbers.parse(e164, None).country_code)
    except NumberParseException:
        return "***"
    national = e164[1 + len(country) :]
    n = len(national)
    # Keep the operator prefix and the last digits (enough to tell numbers apart), hide at least four.
    tail = 4 if n >= 10 else 2
    head = min(3, max(0, n - tail - 4))
    hidden = n - head - tail
    return f"+{country}{national[:head]}{'*' * hidden}{national[n - tail :]}"
