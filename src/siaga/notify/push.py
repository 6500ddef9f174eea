"""Web Push adapters behind one small interface: the real VAPID sender (via ``pywebpush``) and a development recorder.

Officers' phones subscribe in the browser (``PushManager.subscribe``) and hand Siaga the subscription: a push-service
URL plus the browser's P-256 public key and auth secret. To ring the phone, Siaga encrypts a small JSON payload to
those keys (aes128gcm, RFC 8291 / RFC 8188) and POSTs it to the URL with a VAPID token (RFC 8292) that proves the
message comes from the holder of the application server key the browser subscribed with.

Key formats. ``generate_vapid_keys`` returns the private key as the base64url (unpadded) 32-byte raw scalar: one
line, safe in an environment variable, the same encoding family as the public key the browser needs, and what
common Web Push tooling prints. ``WebPush`` and ``application_server_key`` also accept a PEM key (PKCS#8 or SEC 1,
as ``openssl ecparam -genkey`` or ``vapid --gen`` write) and base64-encoded DER, so existing keys can be reused.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import aiohttp
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

from siaga.db import utcnow
from siaga.notify.sms import DeliveryError

log = logging.getLogger("siaga.push")

# Push services accept 4096 bytes of encrypted body; aes128gcm adds 103 (header with the sender's key, one padding
# delimiter, the GCM tag). 3 KB of JSON leaves room for that and for services that are stricter than the spec.
MAX_PAYLOAD_BYTES: Final = 3072
URGENCIES: Final = frozenset({"very-low", "low", "normal", "high"})  # RFC 8030 section 5.3
# RFC 8292 caps the token's lifetime at 24 hours; half that tolerates clock skew on either side.
VAPID_TOKEN_LIFETIME_SECONDS: Final = 12 * 60 * 60
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class SubscriptionGone(DeliveryError):
    """The push service says the subscription no longer exists (404 or 410): the browser unsubscribed or the
    subscription expired. Retrying is pointless; the caller deletes the subscription."""


def _b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; the standard alphabet is tolerated because some clients send it."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64url") from exc


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _origin(endpoint: str) -> str:
    """The endpoint's origin (scheme://host[:port], default port left out): the VAPID ``aud`` claim (RFC 8292 2)."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("push endpoint must be an http(s) URL with a host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("push endpoint has an invalid port") from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """What a browser's ``PushSubscription.toJSON()`` gives: where to POST, and the keys to encrypt to.

    Validated on construction (``ValueError``), so a malformed subscription is refused when the officer registers
    it rather than failing every delivery later."""

    endpoint: str  # the push service URL the browser gave; it is a capability, so it is never logged whole
    p256dh: str  # base64url uncompressed P-256 public key of the browser
    auth: str = field(repr=False)  # base64url 16-byte auth secret

    def __post_init__(self) -> None:
        _origin(self.endpoint)
        try:
            point = _b64url_decode(self.p256dh)
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except ValueError as exc:
            raise ValueError("p256dh is not a base64url P-256 public key") from exc
        if len(point) != 65:  # RFC 8291 requires the uncompressed form; a compressed point would decode above
            raise ValueError("p256dh must be an uncompressed P-256 point (65 bytes)")
        try:
            secret = _b64url_decode(self.auth)
        except ValueError as exc:
            raise ValueError("auth is not base64url") from exc
        if len(secret) != 16:
            raise ValueError("auth must be a 16-byte secret")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PushSubscription:
        """Build from the browser's ``{"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}``."""
        keys = data.get("keys")
        endpoint = data.get("endpoint")
        if not isinstance(endpoint, str) or not isinstance(keys, dict):
            raise ValueError("a push subscription needs 'endpoint' and 'keys'")
        p256dh, auth = keys.get("p256dh"), keys.get("auth")
        if not isinstance(p256dh, str) or not isinstance(auth, str):
            raise ValueError("a push subscription needs keys 'p256dh' and 'auth'")
        return cls(endpoint=endpoint, p256dh=p256dh, auth=auth)

    @property
    def origin(self) -> str:
        """The push service's origin: safe to log, and the VAPID audience."""
        return _origin(self.endpoint)


class PushSender(Protocol):
    name: str

    async def send(
        self, *, subscription: PushSubscription, payload: dict[str, Any], ttl: int = 60, urgency: str = "high"
    ) -> str:
        """Hand one message to the push service; return its id or status text.

        Raises ``ValueError`` for a payload over ``MAX_PAYLOAD_BYTES`` or a bad ``ttl``/``urgency``,
        ``SubscriptionGone`` when the subscription no longer exists, and ``DeliveryError`` for anything else."""
        ...


def encode_payload(payload: dict[str, Any], *, ttl: int, urgency: str) -> str:
    """Check the message parameters and serialise the payload as compact JSON; raise ``ValueError`` if unfit."""
    if ttl < 0:
        raise ValueError("ttl must be zero or more seconds")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {sorted(URGENCIES)}")
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"push payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    return text


def _load_private_key(vapid_private_key: str) -> ec.EllipticCurvePrivateKey:
    """Parse a VAPID private key given as PEM, base64url raw scalar (32 bytes) or base64 DER.

    Parsed here rather than by py_vapid, whose string parser does not take PEM; errors never echo key material."""
    text = vapid_private_key.strip()
    key: object
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            raw = _b64url_decode("".join(text.split()))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("the VAPID private key is not a PEM, base64url raw or DER P-256 private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the VAPID private key must be an elliptic-curve P-256 key")
    return key


def _public_point(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url_encode(point)


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key as the base64url raw 32-byte scalar, public key as the base64url
    uncompressed point for the browser's ``applicationServerKey``). Both are unpadded base64url, one line each."""
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url_encode(scalar), _public_point(key)


def application_server_key(vapid_private_key: str) -> str:
    """The public key a browser subscribes with (``applicationServerKey``), derived from the private key in any
    accepted format: base64url, unpadded, uncompressed P-256 point."""
    return _public_point(_load_private_key(vapid_private_key))


class WebPush:
    """The real adapter: aes128gcm-encrypted payloads with a VAPID token, POSTed with pywebpush's asyncio API
    (``webpush_async``, over aiohttp), so no thread is needed."""

    name = "webpush"

    def __init__(self, *, vapid_private_key: str, subject: str, timeout: float = 10.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        key = _load_private_key(vapid_private_key)
        self._vapid: Any = Vapid02(private_key=key)
        self.subject = subject
        self.timeout = timeout
        self.public_key = _public_point(key)  # the applicationServerKey browsers must subscribe with
        # Sign once now so a subject push services would refuse (py_vapid wants mailto: or https:) fails at start-up.
        try:
            self._authorization("https://push.example")
        except VapidException as exc:
            raise ValueError("the VAPID subject must be a mailto: address or an https: URL") from exc

    def _authorization(self, audience: str) -> str:
        claims = {"aud": audience, "sub": self.subject, "exp": int(time.time()) + VAPID_TOKEN_LIFETIME_SECONDS}
        headers = self._vapid.sign(claims)
        return str(headers["Authorization"])

    async def send(
        self, *, subscription: PushSubscription, payload: dict[str, Any], ttl: int = 60, urgency: str = "high"
    ) -> str:
        data = encode_payload(payload, ttl=ttl, urgency=urgency)
        origin = subscription.origin
        try:
            authorization = self._authorization(origin)
        except VapidException as exc:  # e.g. an IPv6-literal origin that py_vapid's audience check refuses
            raise DeliveryError(f"cannot sign a VAPID token for {origin}: {exc}") from exc
        try:
            response: Any = await webpush_async(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=data,
                content_encoding="aes128gcm",
                ttl=ttl,
                headers={"Authorization": authorization, "Urgency": urgency},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        except WebPushException as exc:
            raise _delivery_error(exc, origin) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            # ClientError covers refused connections and DNS failures; TimeoutError a service that never answers.
            reason = f"no answer within {self.timeout:g} s" if isinstance(exc, TimeoutError) else str(exc)
            raise DeliveryError(f"push service {origin} unreachable: {type(exc).__name__}: {reason}") from exc
        status = int(response.status)
        # RFC 8030 5: a created message answers 201 with its URL in Location, which identifies it for the record.
        message_id = str(response.headers.get("Location") or f"{status} {response.reason or ''}".strip())
        log.info("web push sent", extra={"origin": origin, "status": status, "push_type": payload.get("type")})
        return message_id


def _delivery_error(exc: Any, origin: str) -> DeliveryError:
    """Turn pywebpush's exception into ours: 404/410 mean the subscription is gone, anything else is retried."""
    status = exc.status_code
    if status is None:  # no response at all: pywebpush refused the subscription before sending
        return DeliveryError(f"push to {origin} failed: {exc.message}")
    detail = f"push service {origin} answered {status}"
    if exc.retry_after:
        detail += f" (retry after {exc.retry_after})"
    if status in (404, 410):
        return SubscriptionGone(detail)
    # pywebpush has already read the aiohttp body into its message; keep a little of it for the console.
    _, _, body = str(exc.message).partition("Response body:")
    body = body.strip()
    return DeliveryError(f"{detail}: {body[:200]}" if body else detail)


@dataclass(frozen=True, slots=True)
class RecordedPush:
    """One message the recording adapter accepted."""

    id: str
    at: str
    endpoint: str
    payload: dict[str, Any]
    ttl: int
    urgency: str


class RecordingPush:
    """Development and test adapter: keeps every message in memory and writes it to the log, where a developer can
    read it. Endpoints passed to ``forget`` answer ``SubscriptionGone``, to exercise the caller's clean-up."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[RecordedPush] = []
        self._gone: set[str] = set()

    def forget(self, endpoint: str) -> None:
        """Behave as if the browser unsubscribed this endpoint."""
        self._gone.add(endpoint)

    async def send(
        self, *, subscription: PushSubscription, payload: dict[str, Any], ttl: int = 60, urgency: str = "high"
    ) -> str:
        text = encode_payload(payload, ttl=ttl, urgency=urgency)
        if subscription.endpoint in self._gone:
            raise SubscriptionGone(f"push service {subscription.origin} answered 410")
        record = RecordedPush(
            id=f"recording-{len(self.sent) + 1}",
            at=utcnow().isoformat(),
            endpoint=subscription.endpoint,
            payload=json.loads(text),  # a copy, as the browser would see it, so later mutation does not leak in
            ttl=ttl,
            urgency=urgency,
        )
        self.sent.append(record)
        log.info("recorded web push", extra={"origin": subscription.origin, "payload": text, "urgency": urgency})
        return record.id

    def messages(self, *, endpoint: str | None = None) -> list[RecordedPush]:
        """Recorded messages, oldest first, optionally only those to one subscription."""
        return [record for record in self.sent if endpoint is None or record.endpoint == endpoint]
