"""Secrets are hashed, codes are keyed, and development defaults never reach production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from siaga.accounts import security
from siaga.config import DEV_SECRET_KEY, Settings


def test_a_code_hash_depends_on_the_server_key_and_the_number() -> None:
    a = security.hash_code("key-one", "+6281200000001", "123456")
    assert a == security.hash_code("key-one", "+6281200000001", "123456")
    assert a != security.hash_code("key-two", "+6281200000001", "123456")
    assert a != security.hash_code("key-one", "+6281200000002", "123456")
    assert "123456" not in a


def test_codes_are_six_digits_and_vary() -> None:
    codes = {security.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_a_pin_hash_verifies_only_the_same_pin() -> None:
    stored = security.hash_secret("1234")
    assert stored != "1234"
    assert security.verify_secret(stored, "1234")
    assert not security.verify_secret(stored, "1235")
    assert not security.verify_secret(None, "1234")
    assert not security.verify_secret("not-a-hash", "1234")


def test_tokens_are_long_random_and_stored_only_as_hashes() -> None:
    token = security.new_token()
    assert len(token) >= 40
    assert security.hash_token(token) != token
    assert len(security.hash_token(token)) == 64
    assert security.new_token() != token


def test_production_refuses_the_development_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIAGA_SECRET_KEY", raising=False)
    monkeypatch.delenv("SIAGA_DEV_MODE", raising=False)
    with pytest.raises(ValidationError, match="development default"):
        Settings(_env_file=None, sms_adapter="http", sms_http_url="http://gateway/send")  # type: ignore[call-arg]


def test_production_refuses_the_recording_sms_adapter() -> None:
    with pytest.raises(ValidationError, match="SIAGA_SMS_ADAPTER=dev"):
        Settings(_env_file=None, secret_key=SecretStr("x" * 40), dev_mode=False)  # type: ignore[call-arg]


def test_development_mode_allows_the_defaults_and_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIAGA_DEV_MODE", "1")
    monkeypatch.setenv("SIAGA_JURISDICTION_BUFFER_M", "250")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY
    assert settings.jurisdiction_buffer_m == 250
    assert settings.is_sqlite


def test_a_dotenv_file_cannot_turn_development_mode_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A .env left in a working folder used to switch development mode on silently (the development secret key,
    the recording SMS adapter): it still configures everything else, but development mode must be explicit."""
    monkeypatch.delenv("SIAGA_DEV_MODE", raising=False)
    monkeypatch.delenv("SIAGA_SECRET_KEY", raising=False)
    env = tmp_path / ".env"
    env.write_text("SIAGA_DEV_MODE=1\nSIAGA_JURISDICTION_BUFFER_M=250\n")
    with pytest.raises(ValidationError, match="development default"):
        Settings(_env_file=env)  # type: ignore[call-arg]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=env, secret_key=SecretStr("x" * 40), sms_adapter="http", sms_http_url="http://gateway/send"
    )
    assert settings.dev_mode is False
    assert settings.jurisdiction_buffer_m == 250  # the rest of the file still counts
    monkeypatch.setenv("SIAGA_DEV_MODE", "1")
    assert Settings(_env_file=env).dev_mode is True  # type: ignore[call-arg]
