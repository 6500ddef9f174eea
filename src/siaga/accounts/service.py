"""Use cases for residents and staff: one-time codes, sessions, profiles, PINs, moderation.

Each idea lives in a module of its own (``codes``, ``sessions``, ``residents``, ``pins``, ``moderation``, ``staff``);
this module gathers their use cases, so the rest of Siaga imports one: ``from siaga.accounts import service as
accounts``."""

from __future__ import annotations

from siaga.accounts.codes import (
    RESEND_COOLDOWN,
    CodeFailure,
    counter_address,
    counter_code,
    register_with_code,
    request_code,
    take_code,
    verify_code,
)
from siaga.accounts.moderation import add_strike, appeal, moderation_history, set_suspended
from siaga.accounts.pins import PIN_LOCK_PERIOD, PinCheck, PinEntry, hash_pins, read_pin_entry, set_pins, settle_pin
from siaga.accounts.residents import (
    emergency_contacts,
    get_resident,
    normalize_phone,
    register_number,
    resident_for_number,
    update_profile,
)
from siaga.accounts.sessions import (
    LOGIN_ATTEMPTS_PER_ACCOUNT,
    LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT,
    LOGIN_ATTEMPTS_PER_CLIENT,
    LOGIN_WINDOW,
    NewSession,
    PrincipalCache,
    check_password,
    count_login_attempt,
    forgive_login_attempt,
    open_resident_session,
    open_staff_session,
    principal_for_token,
    revoke_session,
)
from siaga.accounts.staff import create_staff

__all__ = [
    "LOGIN_ATTEMPTS_PER_ACCOUNT",
    "LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT",
    "LOGIN_ATTEMPTS_PER_CLIENT",
    "LOGIN_WINDOW",
    "PIN_LOCK_PERIOD",
    "RESEND_COOLDOWN",
    "CodeFailure",
    "NewSession",
    "PinCheck",
    "PinEntry",
    "PrincipalCache",
    "add_strike",
    "appeal",
    "check_password",
    "count_login_attempt",
    "counter_address",
    "counter_code",
    "create_staff",
    "emergency_contacts",
    "forgive_login_attempt",
    "get_resident",
    "hash_pins",
    "moderation_history",
    "normalize_phone",
    "open_resident_session",
    "open_staff_session",
    "principal_for_token",
    "read_pin_entry",
    "register_number",
    "register_with_code",
    "request_code",
    "resident_for_number",
    "revoke_session",
    "set_pins",
    "set_suspended",
    "settle_pin",
    "take_code",
    "update_profile",
    "verify_code",
]
