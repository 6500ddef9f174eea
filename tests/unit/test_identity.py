"""Unit tests for siaga.accounts.identity: NIK parsing, the region table, phone numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.accounts.identity import (
    InvalidNIK,
    InvalidPhone,
    NIKInfo,
    mask_phone,
    normalize_phone,
    parse_nik,
    province_name,
    regency_name,
)
from siaga.app import http_status
from siaga.errors import Invalid
from tests.conftest import BANDUNG_GEOJSON, LAMPUNG_GEOJSON

TODAY = date(2025, 6, 15)

# The 38 provinces (Kemendagri codes), including the four carved out of Papua and Papua Barat in 2022.
PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21",
    "31", "32", "33", "34", "35", "36",
    "51", "52", "53",
    "61", "62", "63", "64", "65",
    "71", "72", "73", "74", "75", "76",
    "81", "82",
    "91", "92", "93", "94", "95", "96",
}  # fmt: skip


def nik(region: str = "327301", ddmmyy: str = "120390", serial: str = "0001") -> str:
    return region + ddmmyy + serial


def region_rows() -> list[dict[str, str]]:
    text = resources.files("siaga.accounts").joinpath("data/regencies.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def rejected(value: Any, code: str, *, today: date = TODAY) -> InvalidNIK:
    with pytest.raises(InvalidNIK) as info:
        parse_nik(value, today=today)
    assert info.value.code == code, str(info.value)
    return info.value


# --- NIK: valid numbers -------------------------------------------------------------------------------------


def test_valid_male_nik() -> None:
    info = parse_nik(nik(), today=TODAY)
    assert info == NIKInfo(
        nik="3273011203900001",
        province_code="32",
        regency_code="3273",
        kecamatan_code="327301",
        birth_date=date(1990, 3, 12),
        sex="M",
        serial="0001",
    )


def test_valid_female_nik_has_40_added_to_the_day() -> None:
    info = parse_nik(nik("187101", "601090", "0009"), today=TODAY)
    assert info.birth_date == date(1990, 10, 20)
    assert info.sex == "F"
    assert info.regency_code == "1871"
    assert info.province_code == "18"


@pytest.mark.parametrize(
    ("dd", "day", "sex"),
    [("01", 1, "M"), ("31", 31, "M"), ("41", 1, "F"), ("71", 31, "F"), ("55", 15, "F")],
)
def test_plus_40_rule(dd: str, day: int, sex: str) -> None:
    info = parse_nik(nik(ddmmyy=f"{dd}0188"), today=TODAY)
    assert info.birth_date == date(1988, 1, day)
    assert info.sex == sex


@pytest.mark.parametrize("dd", ["00", "32", "39", "40", "72", "99"])
def test_day_outside_both_ranges_is_rejected(dd: str) -> None:
    error = rejected(nik(ddmmyy=f"{dd}0188"), "nik.birth_date")
    assert f"birth day {dd}" in str(error)


@pytest.mark.parametrize("mm", ["00", "13", "99"])
def test_month_out_of_range_is_rejected(mm: str) -> None:
    error = rejected(nik(ddmmyy=f"01{mm}88"), "nik.birth_date")
    assert f"birth month {mm}" in str(error)


@pytest.mark.parametrize(
    "typed",
    ["3273 0112 0390 0001", "3273.01.120390.0001", "3273-01-120390-0001", " 327301\t1203900001 "],
)
def test_separators_a_person_types_are_ignored(typed: str) -> None:
    assert parse_nik(typed, today=TODAY) == parse_nik("3273011203900001", today=TODAY)


def test_default_today_is_used_when_not_given() -> None:
    assert parse_nik(nik()).birth_date == date(1990, 3, 12)


# --- NIK: birth dates and centuries -------------------------------------------------------------------------


def test_feb_29_in_a_leap_year() -> None:
    assert parse_nik(nik(ddmmyy="290296"), today=TODAY).birth_date == date(1996, 2, 29)
    assert parse_nik(nik(ddmmyy="690204"), today=TODAY).birth_date == date(2004, 2, 29)


def test_feb_29_in_a_non_leap_year_is_not_a_real_date() -> None:
    error = rejected(nik(ddmmyy="290297"), "nik.birth_date")
    assert str(error) == "NIK birth date 29-02-1997 is not a real date"


def test_day_31_in_a_30_day_month_is_not_a_real_date() -> None:
    error = rejected(nik(ddmmyy="310490"), "nik.birth_date")
    assert str(error) == "NIK birth date 31-04-1990 is not a real date"


@pytest.mark.parametrize(
    ("ddmmyy", "born"),
    [
        ("010105", date(2005, 1, 1)),  # this century
        ("150625", date(2025, 6, 15)),  # born today
        ("160625", date(1925, 6, 16)),  # tomorrow this century, so 99 years ago instead
        ("311299", date(1999, 12, 31)),
        ("010100", date(2000, 1, 1)),
        ("010130", date(1930, 1, 1)),
    ],
)
def test_century_makes_the_holder_0_to_99_years_old(ddmmyy: str, born: date) -> None:
    assert parse_nik(nik(ddmmyy=ddmmyy), today=TODAY).birth_date == born


def test_century_follows_today() -> None:
    assert parse_nik(nik(ddmmyy="010130"), today=date(2031, 1, 1)).birth_date == date(2030, 1, 1)


def test_future_birth_date_is_rejected() -> None:
    # 29 Feb 2000 has not happened yet on 1 Feb 2000, and 29 Feb 1900 never existed.
    error = rejected(nik(ddmmyy="290200"), "nik.birth_date", today=date(2000, 2, 1))
    assert str(error) == "NIK birth date 29-02-2000 is in the future"
    assert parse_nik(nik(ddmmyy="290200"), today=date(2000, 2, 29)).birth_date == date(2000, 2, 29)


def test_birth_date_is_never_after_today() -> None:
    tomorrow = TODAY + timedelta(days=1)
    info = parse_nik(nik(ddmmyy=f"{tomorrow:%d%m%y}"), today=TODAY)
    assert info.birth_date == tomorrow.replace(year=tomorrow.year - 100)


# --- NIK: format, region, serial ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "327301120390001", "32730112039000011", "3273"])
def test_wrong_length_is_rejected(value: str) -> None:
    error = rejected(value, "nik.format")
    assert str(error) == f"NIK must be 16 digits, got {len(value)}"


@pytest.mark.parametrize(
    "value",
    [
        "32730112039O0001",  # letter O for zero
        "abcdefghijklmnop",
        "3273011203900001x",
        "٣٢٧٣٠١١٢٠٣٩٠٠٠٠١",  # Arabic-Indic digits
        "3273011203900001²",  # superscript two passes str.isdigit()
    ],
)
def test_letters_and_non_ascii_digits_are_rejected(value: str) -> None:
    error = rejected(value, "nik.format")
    assert str(error) == "NIK must contain only digits"


def test_non_text_is_rejected() -> None:
    value: Any = 3273011203900001
    rejected(value, "nik.format")


@pytest.mark.parametrize("region", ["990101", "100101", "200101", "000101", "970101"])
def test_unknown_province_is_rejected(region: str) -> None:
    error = rejected(nik(region=region), "nik.region")
    assert str(error) == f"NIK province {region[:2]} is not a known province code"


@pytest.mark.parametrize("region", ["329901", "327001", "320001", "187301", "939901"])
def test_unknown_regency_is_rejected(region: str) -> None:
    error = rejected(nik(region=region), "nik.region")
    assert str(error) == f"NIK region {region[:4]} is not a known regency/city code"


def test_kecamatan_00_is_rejected() -> None:
    rejected(nik(region="327300"), "nik.region")


@pytest.mark.parametrize(
    ("region", "name"),
    [
        ("910101", "Kabupaten Merauke"),  # Papua before 2022; now 9301 in Papua Selatan
        ("930101", "Kabupaten Merauke"),
        ("927101", "Kota Sorong"),  # Papua Barat before 2022; now 9671 in Papua Barat Daya
        ("967101", "Kota Sorong"),
        ("917101", "Kota Jayapura"),  # never renumbered
    ],
)
def test_papua_codes_before_and_after_the_2022_split_are_accepted(region: str, name: str) -> None:
    info = parse_nik(nik(region=region), today=TODAY)
    assert regency_name(info.regency_code) == name


def test_serial_0000_is_rejected() -> None:
    error = rejected(nik(serial="0000"), "nik.serial")
    assert "0000" in str(error)


def test_serial_9999_is_fine() -> None:
    assert parse_nik(nik(serial="9999"), today=TODAY).serial == "9999"


def test_invalid_nik_is_a_value_error_and_a_siaga_invalid() -> None:
    error = rejected("x", "nik.format")
    assert isinstance(error, ValueError)
    assert isinstance(error, Invalid)
    assert http_status(error) == 422  # the API answers it as any other invalid input


# --- the region table ---------------------------------------------------------------------------------------


def test_csv_header_and_encoding() -> None:
    raw = resources.files("siaga.accounts").joinpath("data/regencies.csv").read_bytes()
    raw.decode("utf-8")
    assert raw.splitlines()[0] == b"code,name,province_code,replaced_by"


def test_csv_has_every_province() -> None:
    provinces = {row["code"] for row in region_rows() if len(row["code"]) == 2}
    assert provinces == PROVINCE_CODES
    for row in region_rows():
        if len(row["code"]) == 2:
            assert row["province_code"] == row["code"]


def test_csv_codes_are_unique_and_well_formed() -> None:
    codes = [row["code"] for row in region_rows()]
    assert len(codes) == len(set(codes))
    for row in region_rows():
        assert row["code"].isascii()
        assert row["code"].isdigit()
        assert len(row["code"]) in (2, 4)
        assert row["name"].strip() == row["name"]
        assert row["name"]


def test_every_regency_belongs_to_a_known_province() -> None:
    rows = region_rows()
    provinces = {row["code"] for row in rows if len(row["code"]) == 2}
    for row in rows:
        if len(row["code"]) == 4:
            assert row["province_code"] in provinces, row
            assert row["code"].startswith(row["province_code"]), row
            kind = "Kota " if int(row["code"][2:]) >= 71 else "Kabupaten "
            assert row["name"].startswith(kind), row


def test_current_regencies_are_complete() -> None:
    current = [row for row in region_rows() if len(row["code"]) == 4 and not row["replaced_by"]]
    # 416 kabupaten and 98 kota since the 2022 Papua split (no new regency has been formed since).
    assert len(current) == 514
    assert sum(1 for row in current if row["name"].startswith("Kota ")) == 98


def test_retired_codes_point_to_a_current_regency_with_the_same_name() -> None:
    rows = {row["code"]: row for row in region_rows()}
    retired = [row for row in rows.values() if row["replaced_by"]]
    assert retired
    for row in retired:
        successor = rows[row["replaced_by"]]
        assert not successor["replaced_by"]
        assert successor["name"] == row["name"]


def test_known_regencies_and_provinces_by_name() -> None:
    assert regency_name("3273") == "Kota Bandung"
    assert regency_name("1871") == "Kota Bandar Lampung"
    assert regency_name("32.73") == "Kota Bandung"
    assert regency_name("3299") is None
    assert regency_name("32") is None
    assert province_name("32") == "Jawa Barat"
    assert province_name("18") == "Lampung"
    assert province_name("96") == "Papua Barat Daya"
    assert province_name("3273") is None


def test_geojson_kecamatan_are_in_known_regencies() -> None:
    seen = 0
    for path in (BANDUNG_GEOJSON, LAMPUNG_GEOJSON):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            kode_nik = str(feature["properties"]["kode_nik"])
            assert regency_name(kode_nik[:4]) is not None, (path.name, kode_nik)
            parse_nik(kode_nik + "1203900001", today=TODAY)
            seen += 1
    assert seen >= 50  # 30 kecamatan of Bandung and 20 of Bandar Lampung


# --- phone numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "62812 3456 7890",
        "6281234567890",
        "081234567890",
        "(0812) 3456 7890",
        "0062 812 3456 7890",
        " +6281234567890 ",
    ],
)
def test_indonesian_mobile_formats_normalise_to_e164(typed: str) -> None:
    assert normalize_phone(typed) == "+6281234567890"


def test_landline_is_rejected_for_sms_but_accepted_otherwise() -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone("022-4234567")
    assert info.value.code == "phone.not_mobile"
    assert "landline" in str(info.value)
    assert normalize_phone("022-4234567", mobile_only=False) == "+62224234567"


def test_toll_free_number_is_not_mobile() -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone("0800 1234567")
    assert info.value.code == "phone.not_mobile"


@pytest.mark.parametrize(
    ("typed", "code", "words"),
    [
        ("hello", "phone.invalid", "is not a phone number"),
        ("", "phone.invalid", "empty"),
        ("   ", "phone.invalid", "empty"),
        ("0812", "phone.invalid", "too short"),
        ("112", "phone.invalid", "too short"),
        ("+6288888888", "phone.invalid", "not a valid phone number"),
        ("+999 123456", "phone.region", "country code"),
    ],
)
def test_bad_numbers_are_rejected_with_the_right_code(typed: str, code: str, words: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(typed)
    assert info.value.code == code
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_default_region_is_rejected() -> None:
    with pytest.raises(InvalidPhone) as info:
        normalize_phone("0812-3456-7890", default_region="XX")
    assert info.value.code == "phone.region"


def test_foreign_mobile_with_country_code_is_accepted() -> None:
    assert normalize_phone("+60 12-345 6789") == "+60123456789"


def test_other_default_region() -> None:
    assert normalize_phone("012-345 6789", default_region="MY") == "+60123456789"


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+6281234567890", "+62812****7890"),
        ("+628123456789", "+6281****6789"),
        ("+62812345678901", "+62812*****8901"),
        ("+62224234567", "+62224****67"),
        ("+16502530000", "+165****0000"),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


@pytest.mark.parametrize("junk", ["", "0812-3456-7890", "+", "+62", "hello", "+999123456789"])
def test_mask_phone_never_leaks_junk(junk: str) -> None:
    assert mask_phone(junk) == "***"


# --- properties ---------------------------------------------------------------------------------------------

KNOWN_REGENCIES = sorted(row["code"] for row in region_rows() if len(row["code"]) == 4)
NIKISH = st.text(alphabet="0123456789 .-", max_size=24)  # digits and the separators a person types


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(), NIKISH), st.dates(min_value=date(1, 1, 1)))
def test_parse_nik_raises_only_invalid_nik(value: str, today: date) -> None:
    error: InvalidNIK | None = None
    try:
        info = parse_nik(value, today=today)
    except InvalidNIK as caught:
        error = caught
    if error is not None:
        assert error.code in {"nik.format", "nik.region", "nik.birth_date", "nik.serial"}
        assert str(error)
    else:
        assert info.birth_date <= today
        assert len(info.nik) == 16


@settings(max_examples=300, deadline=None, database=None)
@given(
    regency=st.sampled_from(KNOWN_REGENCIES),
    kecamatan=st.integers(1, 99),
    born=st.dates(min_value=TODAY.replace(year=TODAY.year - 100) + timedelta(days=1), max_value=TODAY),
    sex=st.sampled_from(["F", "M"]),
    serial=st.integers(1, 9999),
    separator=st.sampled_from(["", " ", ".", "-"]),
)
def test_valid_nik_round_trips_birth_date_and_sex(
    regency: str, kecamatan: int, born: date, sex: str, serial: int, separator: str
) -> None:
    day = born.day + (40 if sex == "F" else 0)
    parts = [regency, f"{kecamatan:02d}", f"{day:02d}{born:%m%y}", f"{serial:04d}"]
    info = parse_nik(separator.join(parts), today=TODAY)
    assert info.birth_date == born
    assert info.sex == sex
    assert info.nik == "".join(parts)
    assert info.regency_code == regency
    assert info.kecamatan_code == f"{regency}{kecamatan:02d}"
    assert info.serial == f"{serial:04d}"
