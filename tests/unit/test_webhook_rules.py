"""The webhooks' rules without I/O: which addresses are never sent to, which URLs are accepted, how long a failed
delivery waits, when a subscription is disabled, who receives what, and what a payload may say."""

from __future__ import annotations

import ipaddress
import socket
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from siaga.config import Settings
from siaga.errors import Invalid
from siaga.webhooks import signing
from siaga.webhooks.addresses import Guard, UnsafeAddress, own_addresses, resolve
from siaga.webhooks.domain import (
    Audience,
    EventType,
    Occurrence,
    alert_occurrence,
    new_secret,
    next_wait,
    parse_networks,
    read_url,
    refusal,
    should_disable,
)

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT: not public
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:0a00:0001::1",  # 6to4 around 10.0.0.1
        "2002:7f00:0001::1",  # 6to4 around 127.0.0.1
        "::ffff:169.254.169.254",  # IPv4-mapped cloud metadata
        "fec0::1",  # site-local (deprecated, but routed on some old networks)
        "fec0:0:0:ffff::1",
        "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
        "64:ff9b::808:808",  # NAT64 around a public address: a translator, not the receiver
        "192.0.2.10",  # documentation
    ],
)
def test_internal_and_special_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allowed=[]) is not None


@pytest.mark.parametrize(
    "address", ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "36.86.63.182", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allowed=[]) is None


def test_a_network_opened_on_purpose_is_allowed_and_only_it() -> None:
    opened = parse_networks("10.20.0.0/16, 127.0.0.1")
    assert refusal(ipaddress.ip_address("10.20.3.4"), allowed=opened) is None
    assert refusal(ipaddress.ip_address("::ffff:10.20.3.4"), allowed=opened) is None
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed=opened) is None
    assert refusal(ipaddress.ip_address("10.21.0.1"), allowed=opened) is not None
    assert refusal(ipaddress.ip_address("127.0.0.2"), allowed=opened) is not None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.org/x", "webhook.bad_url"),
        ("https://user:pw@example.org/x", "webhook.bad_url"),
        ("https:///nohost", "webhook.bad_url"),
        ("https://example.org:99999/", "webhook.bad_url"),
        ("http://example.org/x", "webhook.https_required"),
    ],
)
def test_urls_that_are_refused_say_why(url: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        read_url(url, require_https=True)
    assert refused.value.code == code


def test_a_url_names_its_target_with_the_default_port() -> None:
    assert read_url("https://Hooks.Example.org/siaga?x=1", require_https=True).port == 443
    target = read_url("http://127.0.0.1:8081/h", require_https=False)
    assert (target.scheme, target.host, target.port) == ("http", "127.0.0.1", 8081)


def test_retries_wait_longer_each_time_up_to_an_hour_and_are_spread() -> None:
    longest = [next_wait(n, jitter=0.0) for n in range(1, 16)]
    assert longest[0] == timedelta(seconds=5)
    assert longest[1] == timedelta(seconds=10)
    assert longest == sorted(longest)
    assert longest[-1] == timedelta(hours=1)
    assert next_wait(3, jitter=1.0) == timedelta(seconds=15)  # 25% shorter at most
    assert next_wait(10_000, jitter=0.0) == timedelta(hours=1)


def test_a_subscription_is_disabled_only_after_enough_failures_and_long_enough() -> None:
    day = timedelta(hours=24)
    assert not should_disable(50, NOW - timedelta(minutes=10), NOW, after_failures=10, after=day)
    assert not should_disable(3, NOW - timedelta(days=2), NOW, after_failures=10, after=day)
    assert should_disable(10, NOW - day, NOW, after_failures=10, after=day)
    assert not should_disable(10, None, NOW, after_failures=10, after=day)


def _occurrence(kind: EventType, *, exercise: bool = False, agency: int = 3) -> Occurrence:
    return Occurrence(type=kind, at=NOW, agency_id=agency, exercise=exercise)


def test_a_subscription_receives_its_events_its_agencys_and_drills_only_if_asked() -> None:
    everyone = Audience(1, frozenset({"alert.created"}), include_exercise=False, agency_id=None)
    drills = Audience(2, frozenset({"alert.created"}), include_exercise=True, agency_id=None)
    damkar = Audience(3, frozenset({"alert.created", "device.trouble"}), include_exercise=False, agency_id=7)
    created = _occurrence(EventType.ALERT_CREATED)
    assert everyone.wants(created)
    assert not everyone.wants(_occurrence(EventType.ALERT_STATE_CHANGED))
    assert not everyone.wants(_occurrence(EventType.ALERT_CREATED, exercise=True))
    assert drills.wants(_occurrence(EventType.ALERT_CREATED, exercise=True))
    assert not damkar.wants(created)
    assert damkar.wants(_occurrence(EventType.DEVICE_TROUBLE, agency=7))
    fire = alert_occurrence("created", _alert(agency_id=7, informed_agency_ids=[3]), at=NOW)
    assert fire is not None
    polsek = Audience(4, frozenset({"alert.created"}), include_exercise=False, agency_id=3)
    assert damkar.wants(fire), "the responsible agency's subscription"
    assert polsek.wants(fire), "an informed agency's subscription"
    assert fire.data["informed_agency_ids"] == [3]


def _alert(**columns: object) -> dict[str, object]:
    return {
        "id": "0b4f5a1e-0000-4000-8000-000000000001",
        "state": "acknowledged",
        "category": "kebakaran",
        "agency_id": 3,
        "jurisdiction_id": 12,
        "lat": -6.9,
        "lon": 107.6,
        "accuracy_m": 12.0,
        "is_exercise": False,
        "created_at": NOW,
        "description": "Rumah Bu Siti terbakar",
        "resident_id": "secret",
        **columns,
    }


def test_a_payload_says_what_happened_without_personal_data() -> None:
    told = alert_occurrence("acknowledged", _alert(), at=NOW)
    assert told is not None
    assert told.type is EventType.ALERT_STATE_CHANGED
    assert told.data["position"] == {"lat": -6.9, "lon": 107.6, "accuracy_m": 12.0}
    assert "Siti" not in repr(told.data)
    assert "resident" not in repr(told.data)
    closed = alert_occurrence("resolved", _alert(state="resolved"), at=NOW)
    assert closed is not None
    assert closed.data["position"] is None
    erased = alert_occurrence("escalated", _alert(details_removed_at=NOW), at=NOW)
    assert erased is not None
    assert erased.data["position"] is None
    for quiet in ("note", "flagged", "offered", "delivery_failed", "resident_messaged", "duress"):
        assert alert_occurrence(quiet, _alert(), at=NOW) is None


def test_signed_headers_verify_with_each_secret_given() -> None:
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_")
    assert old != new
    body = '{"type":"webhook.test"}'
    headers = signing.signed_headers([new, old], message_id="msg_1", at=datetime.now(UTC), body=body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)


@pytest.mark.parametrize("opened", ["127.0.0.1/32", "::1", "169.254.0.0/16", "0.0.0.0/0"])
def test_a_deployment_cannot_open_its_own_services_to_webhooks(opened: str) -> None:
    production = {"secret_key": "k" * 40, "sms_adapter": "http", "sms_http_url": "https://sms.example.org"}
    with pytest.raises(ValueError, match="SIAGA_WEBHOOK_ALLOWED_NETWORKS"):
        Settings(**production, webhook_allowed_networks=opened)
    assert Settings(**production, webhook_allowed_networks="10.20.0.0/16, 192.168.5.0/24").webhook_allowed_networks
    assert Settings(dev_mode=True, webhook_allowed_networks=opened).webhook_allowed_networks == opened


OPENED = tuple(parse_networks("10.20.0.0/16"))
ON_8000 = frozenset({8000})
BOUND = Guard(allowed=OPENED, own_ports=ON_8000, own_addresses=frozenset({ipaddress.ip_address("10.20.0.5")}))
NAMED = Guard(allowed=OPENED, own_ports=ON_8000, own_names=frozenset({"10.20.0.5"}))  # a name, resolved when checked
DEV = Guard(allowed=tuple(parse_networks("127.0.0.0/8")), own_ports=ON_8000)


@pytest.mark.parametrize(
    ("guard", "url", "refused"),
    [
        # Siaga on 10.20.0.5:8000, its network opened to webhooks: Siaga itself is still refused, in any form.
        (BOUND, "http://10.20.0.5:8000/", True),
        (BOUND, "http://[::ffff:10.20.0.5]:8000/", True),
        (BOUND, "http://10.20.0.5:9000/", False),  # another service on the same machine, opened on purpose
        (BOUND, "http://10.20.0.6:8000/", False),
        # Known by a name (the public URL's host, SIAGA_HOST, the machine's name): what it resolves to is Siaga.
        (NAMED, "http://10.20.0.5:8000/", True),
        (NAMED, "http://10.20.0.5:8443/", False),
        # Loopback at Siaga's port, even where loopback is opened (development).
        (DEV, "http://127.0.0.1:8000/", True),
        (DEV, "http://[::ffff:127.0.0.1]:8000/", True),
        (DEV, "http://127.0.0.1:9100/", False),
    ],
)
async def test_siaga_itself_is_refused_by_any_address_it_has(guard: Guard, url: str, refused: bool) -> None:
    target = read_url(url, require_https=False)
    if refused:
        with pytest.raises(UnsafeAddress, match="itself"):
            await resolve(target, guard)
    else:
        await resolve(target, guard)


async def test_the_delivery_loops_guard_knows_the_bound_address_and_the_machines_name() -> None:
    settings = Settings(dev_mode=True, host="10.20.0.5", port=8000, webhook_allowed_networks="10.20.0.0/16")
    guard = Guard.of(settings)  # as the delivery loop builds it: no request, so no serving address
    with pytest.raises(UnsafeAddress, match="itself"):
        await resolve(read_url("http://10.20.0.5:8000/hooks", require_https=False), guard)
    assert socket.gethostname().lower() in guard.own_names
    found = socket.getaddrinfo(socket.gethostname(), None)
    machine = {ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]) for *_, sockaddr in found}
    assert machine <= await own_addresses(guard)
