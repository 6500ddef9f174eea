"""Reading what arrives by SMS, without a database: the feature phone's keyword and its free text, Gammu SMSD's
configuration and inbox files, senders as Siaga keeps them, and the webhook's secret."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from siaga.config import DEV_SMS_WEBHOOK_SECRET, Settings
from siaga.notify.sms import _is_gsm7
from siaga.sms import gammu, inbound, keyword


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("TOLONG di pasar", "di pasar"),
        ("tolong", ""),
        ("Sos", ""),
        ("SOS!!! rumah no 5, gang mawar", "rumah no 5, gang mawar"),
        ("  darurat:   kebakaran\n di   RT 03 ", "kebakaran di RT 03"),
        ("DARURAT.kecelakaan", "kecelakaan"),
        ("sos\x00 di\u200b pasar", "di\u200b pasar"),  # a control character is dropped, the rest kept
    ],
)
def test_a_keyword_sos_and_its_free_text(text: str, words: str) -> None:
    assert keyword.free_text(text) == words


@pytest.mark.parametrize(
    "text", ["", "   ", "halo", "SOSIS enak", "tolongin", "minta tolong", "DAFTAR Budi 327302", "1 4821"]
)
def test_messages_that_are_not_a_keyword_sos(text: str) -> None:
    assert keyword.free_text(text) is None


def test_free_text_is_cut_not_refused() -> None:
    words = keyword.free_text("TOLONG " + "x" * 5000)
    assert words is not None
    assert len(words) == keyword.DESCRIPTION_LIMIT


def test_the_confirmation_speaks_the_residents_language() -> None:
    assert keyword.confirmation("id").startswith("SIAGA: SOS Anda diterima pusat komando")
    assert "command centre" in keyword.confirmation("en")
    assert keyword.confirmation("jv") == keyword.confirmation("id")
    assert _is_gsm7(keyword.confirmation("id"))  # one 7-bit SMS part each, not UCS-2
    assert _is_gsm7(inbound.help_text("id"))


def _settings() -> Settings:
    return Settings(dev_mode=True)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("+6281234567890", "+6281234567890"),
        ("081234567890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("TELKOMSEL", "TELKOMSEL"),  # an operator's name: kept as sent, never answered
    ],
)
def test_senders_are_kept_in_e164_where_they_are_numbers(raw: str, kept: str) -> None:
    assert inbound.sender_number(raw, _settings()) == kept


def _config(folder: Path, smsd: str) -> Path:
    path = folder / "smsdrc"
    path.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = phone/\n\n[smsd]\n{smsd}\n")
    return path


def test_gammu_folders_come_from_its_configuration(tmp_path: Path) -> None:
    config = _config(tmp_path, "service = files\ninboxpath = inbox/\nerrorsmspath = /var/spool/gammu/error/\n")
    found = gammu.folders(config)
    assert found.inbox == tmp_path / "inbox"  # relative to the configuration's folder
    assert found.errors == Path("/var/spool/gammu/error")
    assert found.inbox_format == "standard"  # Gammu's own default


@pytest.mark.parametrize(
    ("smsd", "problem"),
    [
        ("service = sql\ndriver = native_pgsql", "files backend"),
        ("service = files", "inboxpath"),
    ],
)
def test_a_gammu_configuration_siaga_cannot_use_says_why(tmp_path: Path, smsd: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        gammu.folders(_config(tmp_path, smsd))


def test_a_missing_gammu_configuration_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SIAGA_SMS_GAMMU_CONFIG"):
        gammu.folders(tmp_path / "nothing-here")


def _inbox_file(folder: Path, name: str, text: str) -> None:
    (folder / name).write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))


def test_the_gammu_inbox_joins_parts_and_knows_a_message_delivered_twice(tmp_path: Path) -> None:
    _inbox_file(tmp_path, "IN20261204_113500_00_+6281234567890_00.txt", "TOLONG di pasar ")
    _inbox_file(tmp_path, "IN20261204_113500_00_+6281234567890_01.txt", "Cicadas")
    _inbox_file(tmp_path, "IN20261204_113500_01_+6281234567890_00.txt", "TOLONG di pasar Cicadas")  # again, whole
    _inbox_file(tmp_path, "IN20261204_113600_00_+6281234567891_00.txt", "halo")
    _inbox_file(tmp_path, "IN20261204_113600_01_+6281234567891_00.txt", "halo")  # the network delivered it twice
    (tmp_path / "README").write_text("not Gammu's")

    messages = gammu.read_inbox(tmp_path)

    assert [(m.sender, m.text) for m in messages] == [
        ("+6281234567890", "TOLONG di pasar Cicadas"),
        ("+6281234567890", "TOLONG di pasar Cicadas"),
        ("+6281234567891", "halo"),
        ("+6281234567891", "halo"),
    ]
    assert [len(m.files) for m in messages] == [2, 1, 1, 1]
    assert messages[0].sent_at == datetime(2026, 12, 4, 11, 35, tzinfo=UTC)
    # The same sender, network time and text is one message, whatever serial Gammu gave each copy.
    assert messages[2].gateway_id == messages[3].gateway_id
    assert messages[0].gateway_id == messages[1].gateway_id
    assert messages[0].gateway_id != messages[2].gateway_id


def test_an_inbox_in_gammus_standard_format_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "IN20261204_113500_00_+6281234567890_00.txt").write_bytes("TOLONG di café".encode())
    [message] = gammu.read_inbox(tmp_path, inbox_format="standard")
    assert message.text == "TOLONG di café"


def test_the_development_webhook_secret_is_refused_outside_development_mode() -> None:
    production = {
        "dev_mode": False,
        "secret_key": "k" * 40,
        "sms_adapter": "http",
        "sms_http_url": "http://sms.invalid/",
    }
    with pytest.raises(ValidationError, match="SIAGA_SMS_WEBHOOK_SECRET is the development default"):
        Settings(**production, sms_webhook_secret=DEV_SMS_WEBHOOK_SECRET)
    with pytest.raises(ValidationError, match="whsec_ and base64"):
        Settings(dev_mode=True, sms_webhook_secret="not base64!")
    assert Settings(**production).webhook_secret == ""  # none set: the webhook is off
    assert Settings(dev_mode=True).webhook_secret == DEV_SMS_WEBHOOK_SECRET  # make demo takes signed webhooks
    provider = "whsec_" + "c2VjcmV0LWZyb20tdGhlLXByb3ZpZGVyLTEyMzQ1Ng=="
    assert Settings(**production, sms_webhook_secret=provider).webhook_secret == provider
