"""Siaga's MQTT connection: follows every device topic on the broker and hands each message to ``service.receive``.

Nothing published while Siaga is away is lost: the session is persistent (``clean_session`` off, a fixed client id),
subscriptions are QoS 1, so the broker keeps the messages for Siaga and delivers them when it is back; and a message
is acknowledged to the broker (PUBACK) only once it is handled and committed. A message whose handling failed is not
acknowledged: the bridge reconnects and the broker delivers it again. Handling is idempotent (the device's event id),
so a message delivered twice is one alert.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt

from siaga.db import utcnow
from siaga.devices import domain, service

log = logging.getLogger("siaga.devices.bridge")

MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://user:password@host:1883`` (or ``mqtts://`` for TLS, port 8883 by default)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("SIAGA_MQTT_URL must look like mqtt://user:password@host:1883")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


class HandlingFailed(Exception):
    """A message could not be handled (the database did not answer): reconnect, and the broker delivers it again."""


class DeviceBridge:
    """The background task that keeps Siaga subscribed to its devices, reconnecting after any loss."""

    def __init__(self, channel: service.Channel, url: str, *, client_id: str) -> None:
        self.channel = channel
        self.address = BrokerAddress.parse(url)
        self.client_id = client_id
        self.connected = asyncio.Event()
        self.handled = 0  # messages handled since start (for the health page and tests)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="device-bridge")

    async def stop(self) -> None:
        """Disconnect. What is not yet acknowledged stays with the broker for the next start."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.connected.clear()

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            try:
                await self._session()
            except (aiomqtt.MqttError, HandlingFailed, OSError) as error:
                self.connected.clear()
                log.warning(
                    "MQTT broker %s:%s: %s; reconnecting in %.0f s",
                    self.address.host,
                    self.address.port,
                    error,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 1.0

    async def _session(self) -> None:
        address = self.address
        client = aiomqtt.Client(
            address.host,
            address.port,
            username=address.username,
            password=address.password,
            identifier=self.client_id,
            clean_session=False,
            keepalive=30,
            tls_context=ssl.create_default_context() if address.tls else None,
        )
        # PUBACK only after the message is committed (paho would acknowledge it as soon as it is queued here): a
        # panic in the queue when Siaga stops is delivered again, never lost. aiomqtt has no option for this.
        client._client.manual_ack_set(True)
        async with client:
            for topic in domain.SUBSCRIPTIONS:
                await client.subscribe(topic, qos=1)
            self.connected.set()
            log.info("following device topics on %s:%s", address.host, address.port)
            async for message in client.messages:
                await self._handle(client, message)

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        payload = message.payload
        raw = payload if isinstance(payload, bytes | bytearray) else b"" if payload is None else str(payload).encode()
        try:
            ack = await service.receive(self.channel, str(message.topic), bytes(raw), received_at=utcnow())
        except Exception as error:
            log.error("a message on %s could not be handled; it will be delivered again", message.topic, exc_info=True)
            raise HandlingFailed(str(error)) from error
        if message.qos > 0:
            client._client.ack(message.mid, message.qos)
        self.handled += 1
        if ack is not None:
            await client.publish(ack.topic, json.dumps(ack.payload), qos=1)
