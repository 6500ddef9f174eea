"""The app's SOS SMS: one GSM-7 SMS whatever it carries, read back as sent, and a change anywhere (or the wrong key)
fails its MAC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siaga.alerts.domain import Category
from siaga.sms import sos_message
from siaga.sms.sos_message import AppSOS, Garbled, compose, read

KEY = b"Q2hhbmdlIG1lOiB0aGlzIGlzIGEgdGVzdCBrZXkgb25seQ"
PRESSED = datetime(2026, 12, 4, 12, 0, 5, tzinfo=UTC)
GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§")
GSM7_BASIC |= set("¿abcdefghijklmnopqrstuvwxyzäöñüà")


def _sos(**changes: object) -> AppSOS:
    fields: dict[str, object] = {
        "alert_id": uuid.UUID("0c8f1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"),
        "category": Category.KECELAKAAN,
        "pressed_at": PRESSED,
        "lat": -6.91474,
        "lon": 107.60981,
        "accuracy_m": 25,
    }
    fields.update(changes)
    return AppSOS(**fields)  # type: ignore[arg-type]


def test_a_press_reads_back_as_it_was_sent_and_verifies_with_its_key() -> None:
    text = compose(_sos(), KEY)

    signed = read(text)

    assert signed.sos == _sos()
    assert signed.verifies(KEY)
    assert not signed.verifies(b"another resident's key")
    # The exact text (the app's composer, in JavaScript, is checked against this same line).
    assert text == "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 KEC 7JSRHJ4EIPMOAJTY"


def test_a_silent_press_says_so_in_its_category_and_is_signed_with_it() -> None:
    text = compose(_sos(silent=True), KEY)
    assert text == "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 KECS YAIHABDXOIXTLKQV"
    assert read(text).sos.silent
    # Dropping the S (the press made loud on the way) fails the MAC.
    assert not read(text.replace(" KECS ", " KEC ")).verifies(KEY)


def test_a_press_without_a_fix_says_so() -> None:
    signed = read(compose(_sos(lat=None, lon=None, accuracy_m=None), KEY))
    assert (signed.sos.lat, signed.sos.lon, signed.sos.accuracy_m) == (None, None, None)
    assert signed.verifies(KEY)


def test_a_retyped_message_in_other_case_and_spacing_still_verifies() -> None:
    text = compose(_sos(), KEY)
    retyped = "  " + text.lower().replace(" ", "   ") + "\n"
    assert read(retyped).verifies(KEY)


@pytest.mark.parametrize(
    ("field", "replacement"),
    [
        (1, "AAAAAAAAAAAAAAAAAAAAAAAAAA"),  # another alert's id
        (2, "-6.91475"),  # the position moved a metre
        (3, "107.6098"),
        (4, "5"),  # a better accuracy than the phone had
        (5, "1764849606"),  # another time
        (6, "KEB"),  # another category
    ],
)
def test_a_change_to_any_field_fails_the_mac(field: int, replacement: str) -> None:
    fields = compose(_sos(), KEY).split(" ")
    fields[field] = replacement
    signed = read(" ".join(fields))
    assert not signed.verifies(KEY)


@pytest.mark.parametrize(
    "text",
    [
        "SIAGA1",
        "SIAGA1 tolong saya di pasar",
        # cut off on the way (the MAC half gone)
        "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 KEC 4M3JZLQ7",
        "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 XYZ 4M3JZLQ7UE2XK5AB",  # no category
        "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 - 25 1796385605 KEC 4M3JZLQ7UE2XK5AB",  # half a position
        "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 96.5 107.60981 25 1796385605 KEC 4M3JZLQ7UE2XK5AB",  # not on Earth
        "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 KEC 4M3JZLQ7UE2XK5AB" + " x" * 40,
    ],
)
def test_a_garbled_message_is_told_apart_from_a_forged_one(text: str) -> None:
    assert sos_message.looks_like(text)
    with pytest.raises(Garbled):
        read(text)


def test_only_the_apps_prefix_is_claimed() -> None:
    assert sos_message.looks_like(" siaga1 anything")
    assert not sos_message.looks_like("TOLONG di pasar")
    assert not sos_message.looks_like("1 4821")


@given(
    alert_id=st.uuids(),
    lat=st.floats(min_value=-90, max_value=90),
    lon=st.floats(min_value=-180, max_value=180),
    accuracy=st.one_of(st.none(), st.floats(min_value=0, max_value=1e7)),
    located=st.booleans(),
    category=st.sampled_from(list(Category)),
    seconds=st.integers(min_value=0, max_value=9_999_999_999),
    silent=st.booleans(),
)
def test_every_press_fits_one_gsm7_sms_and_round_trips(
    alert_id: uuid.UUID,
    lat: float,
    lon: float,
    accuracy: float | None,
    located: bool,
    category: Category,
    seconds: int,
    silent: bool,
) -> None:
    sos = _sos(
        alert_id=alert_id,
        category=category,
        pressed_at=datetime.fromtimestamp(seconds, tz=UTC),
        lat=lat if located else None,
        lon=lon if located else None,
        accuracy_m=accuracy if located else None,
        silent=silent,
    )
    text = compose(sos, KEY)

    assert len(text) <= sos_message.MAX_LENGTH
    assert set(text) <= GSM7_BASIC
    signed = read(text)
    assert signed.verifies(KEY)
    assert (signed.sos.alert_id, signed.sos.category, signed.sos.pressed_at) == (alert_id, category, sos.pressed_at)
    assert signed.sos.silent == silent
    if located:
        assert signed.sos.lat == pytest.approx(lat, abs=1e-5)
        assert signed.sos.lon == pytest.approx(lon, abs=1e-5)
    else:
        assert (signed.sos.lat, signed.sos.lon) == (None, None)
