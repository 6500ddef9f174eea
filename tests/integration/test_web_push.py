"""Web Push end to end over real HTTP: a local stand-in for a browser's push service checks the VAPID token and
decrypts the aes128gcm body with the browser's keys, so these tests prove an officer's phone could read the offer."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece  # type: ignore[import-untyped]
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from siaga.notify.push import (
    MAX_PAYLOAD_BYTES,
    PushSubscription,
    RecordingPush,
    SubscriptionGone,
    WebPush,
    application_server_key,
    generate_vapid_keys,
)
from siaga.notify.sms import DeliveryError

SUBJECT = "mailto:ops@siaga.example"
DEADLINE = 30.0  # generous: a guard against hanging, never a measure of speed


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Rejected(Exception):
    """The push service refuses the request; the reason is recorded for the test to show."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify_vapid(authorization: str, *, audience: str, subject: str) -> tuple[str, dict[str, Any]]:
    """Check an RFC 8292 ``vapid t=<jwt>, k=<key>`` header as a push service would, independently of the library
    that made it: ES256 signature by key k, and the aud, sub and exp claims. Returns (k, claims)."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise Rejected(401, f"authorization scheme is {scheme!r}, not vapid")
    fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    if "t" not in fields or "k" not in fields:
        raise Rejected(401, "authorization lacks t= or k=")
    token, key = fields["t"], fields["k"]
    signing_input, _, signature_b64 = token.rpartition(".")
    header_b64, _, claims_b64 = signing_input.partition(".")
    header = json.loads(unb64url(header_b64))
    if header.get("alg") != "ES256":
        raise Rejected(401, f"JWT alg is {header.get('alg')!r}")
    signature = unb64url(signature_b64)
    if len(signature) != 64:
        raise Rejected(401, "ES256 signature is not 64 bytes")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public.verify(der, signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise Rejected(403, f"JWT signature does not verify with k: {exc!r}") from exc
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    if claims.get("aud") != audience:
        raise Rejected(403, f"aud {claims.get('aud')!r} is not {audience!r}")
    if claims.get("sub") != subject:
        raise Rejected(403, f"sub {claims.get('sub')!r} is not {subject!r}")
    now = time.time()
    if not now < claims.get("exp", 0) <= now + 24 * 3600:
        raise Rejected(403, f"exp {claims.get('exp')!r} is not within the next 24 hours")
    return key, claims


@dataclass
class Browser:
    """The browser side of one subscription: its P-256 key pair and 16-byte auth secret."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def public(self) -> str:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)


@dataclass
class Delivered:
    """What the push service accepted and decrypted."""

    subscription_id: str
    plaintext: bytes
    headers: dict[str, str]
    vapid_key: str
    claims: dict[str, Any]


@dataclass
class PushService:
    """A stand-in for a browser vendor's push service on loopback: POST /push/<id>."""

    origin: str = ""
    browsers: dict[str, Browser] = field(default_factory=dict)
    forced: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)  # id -> (status, extra headers)
    delivered: list[Delivered] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, subscription_id: str) -> PushSubscription:
        """What ``PushManager.subscribe`` would hand the officer's app."""
        browser = self.browsers.setdefault(subscription_id, Browser())
        return PushSubscription(
            endpoint=f"{self.origin}/push/{subscription_id}", p256dh=browser.public(), auth=b64url(browser.auth)
        )

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        match = re.fullmatch(r"/push/([\w-]+)", path)
        if match is None:
            raise Rejected(404, f"no such path {path}")
        subscription_id = match.group(1)
        if subscription_id in self.forced:
            return self.forced[subscription_id]
        browser = self.browsers.get(subscription_id)
        if browser is None:
            return 404, {}
        key, claims = verify_vapid(headers.get("authorization", ""), audience=self.origin, subject=SUBJECT)
        if headers.get("content-encoding") != "aes128gcm":
            raise Rejected(400, f"content-encoding is {headers.get('content-encoding')!r}")
        if not headers.get("ttl", "").isdigit():
            raise Rejected(400, "TTL header missing or not a number")
        if headers.get("urgency") not in {"very-low", "low", "normal", "high"}:
            raise Rejected(400, f"urgency is {headers.get('urgency')!r}")
        if len(body) > 4096:
            raise Rejected(413, f"body is {len(body)} bytes")
        try:
            plaintext = http_ece.decrypt(body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm")
        except http_ece.ECEException as exc:
            raise Rejected(400, f"cannot decrypt: {exc.message}") from exc
        with self.lock:
            self.delivered.append(Delivered(subscription_id, plaintext, headers, key, claims))
            number = len(self.delivered)
        return 201, {"Location": f"{self.origin}/message/{number}"}


@pytest.fixture
def push_service() -> Iterator[PushService]:
    state = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                status, extra = state.receive(self.path, headers, body)
            except Rejected as exc:
                # A handler thread cannot fail the test directly; the test asserts this list is empty.
                with state.lock:
                    state.rejected.append(exc.reason)
                status, extra = exc.status, {}
            except Exception as exc:
                with state.lock:
                    state.rejected.append(f"push service crashed: {exc!r}")
                status, extra = 500, {}
            answer = b"" if status == 201 else f"status {status}".encode()
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.origin = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval only makes shutdown prompt; it has no bearing on what the tests check.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=DEADLINE)


def private_key_formats(raw_private: str) -> dict[str, str]:
    """The same VAPID key written the ways an operator might supply it."""
    key = ec.derive_private_key(int.from_bytes(unb64url(raw_private), "big"), ec.SECP256R1())
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sec1 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"raw": raw_private, "pem-pkcs8": pkcs8.decode(), "pem-sec1": sec1.decode(), "der": b64url(der)}


async def send(sender: WebPush, **kwargs: Any) -> str:
    return await asyncio.wait_for(sender.send(**kwargs), timeout=DEADLINE)


@pytest.mark.parametrize("key_format", ["raw", "pem-pkcs8", "pem-sec1", "der"])
async def test_an_offer_reaches_the_browser_decrypted_under_a_valid_vapid_token(
    push_service: PushService, key_format: str
) -> None:
    private, public = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private_key_formats(private)[key_format], subject=SUBJECT)
    subscription = push_service.subscribe("officer-7")
    payload = {
        "type": "offer",
        "alert_id": "0b9c6f0e-5a1e-4c1b-9d53-3f1f6f5f2a10",
        "title": "SOS: kebakaran di Coblong",
        "body": "Jl. Dago 101, 350 m dari Anda. Terima?",
    }

    message_id = await send(sender, subscription=subscription, payload=payload)

    assert push_service.rejected == []
    [delivered] = push_service.delivered
    assert json.loads(delivered.plaintext.decode("utf-8")) == payload
    assert message_id == f"{push_service.origin}/message/1"
    assert delivered.headers["ttl"] == "60"
    assert delivered.headers["urgency"] == "high"
    assert delivered.headers["content-encoding"] == "aes128gcm"
    # The browser subscribed with this applicationServerKey; the token must be signed by the matching private key.
    assert delivered.vapid_key == public == sender.public_key
    assert delivered.claims["aud"] == push_service.origin


async def test_the_stand_in_service_refuses_a_token_for_another_subject_or_keys_it_cannot_decrypt_with(
    push_service: PushService,
) -> None:
    """Negative controls: the checks above would catch a wrong claim or the wrong encryption keys."""
    private, _ = generate_vapid_keys()
    stranger = WebPush(vapid_private_key=private, subject="mailto:someone-else@siaga.example")
    with pytest.raises(DeliveryError, match="403"):
        await send(stranger, subscription=push_service.subscribe("officer-11"), payload={"type": "offer"})

    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    genuine = push_service.subscribe("officer-12")
    other_browser = Browser()
    wrong_keys = PushSubscription(
        endpoint=genuine.endpoint, p256dh=other_browser.public(), auth=b64url(other_browser.auth)
    )
    with pytest.raises(DeliveryError, match="400"):
        await send(sender, subscription=wrong_keys, payload={"type": "offer"})

    assert push_service.delivered == []
    assert len(push_service.rejected) == 2
    assert "sub" in push_service.rejected[0]
    assert "cannot decrypt" in push_service.rejected[1]


async def test_ttl_urgency_and_non_ascii_text_arrive_as_sent(push_service: PushService) -> None:
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    payload = {"type": "assignment", "alert_id": "a-1", "title": "Penugasan — Sukajadi 🚓", "body": "Segera ke lokasi"}

    await send(sender, subscription=push_service.subscribe("officer-8"), payload=payload, ttl=0, urgency="normal")

    assert push_service.rejected == []
    [delivered] = push_service.delivered
    assert json.loads(delivered.plaintext.decode("utf-8")) == payload
    assert delivered.headers["ttl"] == "0"
    assert delivered.headers["urgency"] == "normal"


async def test_a_payload_at_the_limit_is_delivered_and_one_byte_more_is_refused(push_service: PushService) -> None:
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    subscription = push_service.subscribe("officer-9")
    envelope = len(json.dumps({"type": "offer", "body": ""}, separators=(",", ":")).encode())
    at_limit = {"type": "offer", "body": "x" * (MAX_PAYLOAD_BYTES - envelope)}
    over_limit = {"type": "offer", "body": "x" * (MAX_PAYLOAD_BYTES - envelope + 1)}

    await send(sender, subscription=subscription, payload=at_limit)
    with pytest.raises(ValueError, match="limit"):
        await send(sender, subscription=subscription, payload=over_limit)

    assert push_service.rejected == []
    assert [json.loads(d.plaintext) for d in push_service.delivered] == [at_limit]


async def test_multibyte_text_counts_in_bytes_not_characters() -> None:
    sender = RecordingPush()
    subscription = PushSubscription(
        endpoint="https://push.example/s/1", p256dh=Browser().public(), auth=b64url(b"\x01" * 16)
    )
    with pytest.raises(ValueError, match="limit"):
        await sender.send(subscription=subscription, payload={"body": "é" * (MAX_PAYLOAD_BYTES // 2 + 1)})
    assert sender.sent == []


@pytest.mark.parametrize("status", [404, 410])
async def test_an_unsubscribed_browser_raises_subscription_gone(push_service: PushService, status: int) -> None:
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    subscription = push_service.subscribe("officer-gone")
    push_service.forced["officer-gone"] = (status, {})

    with pytest.raises(SubscriptionGone, match=str(status)):
        await send(sender, subscription=subscription, payload={"type": "offer"})


async def test_a_server_error_is_a_delivery_error_with_the_status(push_service: PushService) -> None:
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    subscription = push_service.subscribe("officer-500")
    push_service.forced["officer-500"] = (500, {})

    with pytest.raises(DeliveryError) as caught:
        await send(sender, subscription=subscription, payload={"type": "offer"})

    assert not isinstance(caught.value, SubscriptionGone)  # retried later, not deleted
    assert "500" in str(caught.value)
    assert push_service.origin in str(caught.value)


async def test_throttling_reports_when_to_retry(push_service: PushService) -> None:
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    subscription = push_service.subscribe("officer-429")
    push_service.forced["officer-429"] = (429, {"Retry-After": "120"})

    with pytest.raises(DeliveryError, match=r"429 \(retry after 120\)"):
        await send(sender, subscription=subscription, payload={"type": "offer"})


async def test_a_closed_port_is_a_delivery_error() -> None:
    with socket.socket() as probe:  # bind and release a port so that nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT, timeout=5.0)
    browser = Browser()
    subscription = PushSubscription(
        endpoint=f"http://127.0.0.1:{port}/push/x", p256dh=browser.public(), auth=b64url(browser.auth)
    )

    with pytest.raises(DeliveryError, match="unreachable"):
        await send(sender, subscription=subscription, payload={"type": "offer"})


async def test_a_service_that_never_answers_times_out_as_a_delivery_error() -> None:
    with socket.socket() as silent:  # accepts connections in the kernel backlog, never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        private, _ = generate_vapid_keys()
        sender = WebPush(vapid_private_key=private, subject=SUBJECT, timeout=0.5)
        browser = Browser()
        subscription = PushSubscription(
            endpoint=f"http://127.0.0.1:{port}/push/x", p256dh=browser.public(), auth=b64url(browser.auth)
        )

        with pytest.raises(DeliveryError, match=r"no answer within 0\.5 s"):
            await send(sender, subscription=subscription, payload={"type": "offer"})


def test_the_derived_public_key_verifies_what_the_private_key_signs() -> None:
    private, public = generate_vapid_keys()
    assert len(unb64url(private)) == 32
    assert "=" not in private + public
    point = unb64url(public)
    assert len(point) == 65
    assert point[0] == 4  # uncompressed, as applicationServerKey wants
    for written in private_key_formats(private).values():
        assert application_server_key(written) == public

    signing_key = ec.derive_private_key(int.from_bytes(unb64url(private), "big"), ec.SECP256R1())
    message = b"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtYWlsdG86b3BzQHNpYWdhLmV4YW1wbGUifQ"
    signature = signing_key.sign(message, ec.ECDSA(hashes.SHA256()))
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point).verify(
        signature, message, ec.ECDSA(hashes.SHA256())
    )
    assert generate_vapid_keys()[0] != private


def test_bad_keys_subjects_and_subscriptions_are_refused_up_front() -> None:
    private, _ = generate_vapid_keys()
    browser = Browser()
    with pytest.raises(ValueError, match="VAPID private key"):
        WebPush(vapid_private_key="not-a-key", subject=SUBJECT)
    rsa_like = b64url(b"\x00" * 31)  # neither a 32-byte scalar nor DER
    with pytest.raises(ValueError, match="VAPID private key"):
        application_server_key(rsa_like)
    with pytest.raises(ValueError, match="subject"):
        WebPush(vapid_private_key=private, subject="ops@siaga.example")
    with pytest.raises(ValueError, match="http"):
        PushSubscription(endpoint="ftp://push.example/x", p256dh=browser.public(), auth=b64url(browser.auth))
    with pytest.raises(ValueError, match="p256dh"):
        PushSubscription(endpoint="https://push.example/x", p256dh=b64url(b"\x04" * 65), auth=b64url(browser.auth))
    with pytest.raises(ValueError, match="auth"):
        PushSubscription(endpoint="https://push.example/x", p256dh=browser.public(), auth=b64url(b"short"))


def test_a_subscription_is_read_from_the_browser_json_and_keeps_its_secret_out_of_logs() -> None:
    browser = Browser()
    data = {
        "endpoint": "https://push.example:443/s/1",
        "keys": {"p256dh": browser.public(), "auth": b64url(browser.auth)},
    }
    subscription = PushSubscription.from_json(data)
    assert subscription.origin == "https://push.example"  # the default port is not part of the VAPID audience
    assert b64url(browser.auth) not in repr(subscription)
    with pytest.raises(ValueError, match="keys"):
        PushSubscription.from_json({"endpoint": "https://push.example/s/1"})


async def test_bad_ttl_or_urgency_is_refused_before_sending(push_service: PushService) -> None:
    private, _ = generate_vapid_keys()
    sender = WebPush(vapid_private_key=private, subject=SUBJECT)
    subscription = push_service.subscribe("officer-10")
    with pytest.raises(ValueError, match="urgency"):
        await send(sender, subscription=subscription, payload={"type": "offer"}, urgency="urgent")
    with pytest.raises(ValueError, match="ttl"):
        await send(sender, subscription=subscription, payload={"type": "offer"}, ttl=-1)
    assert push_service.delivered == []
    assert push_service.rejected == []


async def test_the_recording_adapter_keeps_messages_and_can_play_an_unsubscribed_browser() -> None:
    sender = RecordingPush()
    browser = Browser()
    first = PushSubscription(endpoint="https://push.example/s/1", p256dh=browser.public(), auth=b64url(browser.auth))
    second = PushSubscription(endpoint="https://push.example/s/2", p256dh=browser.public(), auth=b64url(browser.auth))
    payload: dict[str, Any] = {"type": "offer", "alert_id": "a-1"}

    assert await sender.send(subscription=first, payload=payload) == "recording-1"
    payload["alert_id"] = "changed after sending"
    await sender.send(subscription=second, payload={"type": "assignment"}, urgency="normal", ttl=30)
    sender.forget(second.endpoint)
    with pytest.raises(SubscriptionGone):
        await sender.send(subscription=second, payload={"type": "assignment"})

    [recorded] = sender.messages(endpoint=first.endpoint)
    assert recorded.payload == {"type": "offer", "alert_id": "a-1"}
    assert (recorded.ttl, recorded.urgency) == (60, "high")
    assert [r.payload["type"] for r in sender.messages()] == ["offer", "assignment"]
