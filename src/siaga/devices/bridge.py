"""Siaga's MQTT connection: follows every device topic on the broker and hands each message to ``service.receive``.

Nothing published while Siaga is away is lost: the session is persistent (``clean_session`` off, a fixed client id),
subscriptions are QoS 1, so the broker keeps the messages for Siaga and delivers them when it is back; and a message
is acknowledged to the broker (PUBACK) only once it is handled and committed. A message whose handling failed is not
acknowledged: the bridge reconnects and the broker delivers it again. Handling is idempotent (the device's event id),
so a message delivered twice is one alert.

With several ``siaga serve`` processes, one holds the subscription: the bridge connects only while its process holds
the database lease ``mqtt:<client id>`` (``devices.lease``), renewed every third of ``SIAGA_MQTT_LEASE_SECONDS``. The
others wait; when the holder dies its lease runs out and another takes it, connects under the same client id, and the
broker hands it the session with everything not yet acknowledged. A holder that cannot renew disconnects before its
lease runs out, so two processes never share the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import aiomqtt

from siaga.db import utcnow
from siaga.devices import domain, service
from siaga.devices.lease import Lease

log = logging.getLogger("siaga.devices.bridge")

MAX_BACKOFF_S = 30.0
IN_FLIGHT = 200  # messages handled at once (the broker keeps the rest until they are acknowledged)


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


class AlarmRecords:
    """Records the alarms whose alerts are stored, those waiting together in one transaction (as the SOS writer
    stores their alerts): a burst of panics costs a few commits, not one each. One that fails in a batch is tried
    alone; one that fails alone fails its message, which is then delivered again."""

    def __init__(self, channel: service.Channel) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[tuple[service.AlarmRecord, asyncio.Future[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._worker = asyncio.create_task(self._write(), name="device-alarm-records")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        while not self._queue.empty():
            self._queue.get_nowait()[1].cancel()

    async def submit(self, record: service.AlarmRecord) -> None:
        if self._worker is None or self._worker.done():
            await service.record_alarms(self.channel, [record])
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((record, done))
        await done

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await service.record_alarms(self.channel, [record for record, _ in batch])
            except Exception:
                for record, done in batch:
                    try:
                        await service.record_alarms(self.channel, [record])
                    except Exception as error:
                        if not done.done():
                            done.set_exception(error)
                    else:
                        if not done.done():
                            done.set_result(None)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


class DeviceBridge:
    """The background task that keeps Siaga subscribed to its devices, reconnecting after any loss."""

    def __init__(self, channel: service.Channel, url: str, *, client_id: str, lease: Lease | None = None) -> None:
        self.channel = channel
        self.address = BrokerAddress.parse(url)
        self.client_id = client_id
        self.lease = lease  # None: connect at once (one process, or a test's own bridge)
        self.connected = asyncio.Event()
        self.leading = asyncio.Event()  # this process holds the lease (and so the subscription)
        self.handled = 0  # messages handled since start (for the health page and tests)
        self._task: asyncio.Task[None] | None = None
        self.records = AlarmRecords(channel)

    def start(self) -> None:
        self.records.start()
        self._task = asyncio.create_task(self._run(), name="device-bridge")

    async def stop(self, *, release: bool = True) -> None:
        """Disconnect. What is not yet acknowledged stays with the broker for the next holder. The lease is given up
        for another process to take at once (``release=False``: as a process that died leaves it, to run out)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.records.stop()
        self.connected.clear()
        self.leading.clear()
        if self.lease is not None and release:
            await self.lease.give_up()

    async def _run(self) -> None:
        if self.lease is None:
            await self._follow()
            return
        renew = self.lease.ttl / 3
        while True:
            if not await self._take_lease(self.lease):
                await asyncio.sleep(renew.total_seconds())
                continue
            self.leading.set()
            log.info("this process holds the MQTT subscription (lease %s)", self.lease.name)
            following = asyncio.create_task(self._follow(), name="device-bridge-follow")
            try:
                await self._hold(self.lease, following, renew)
            finally:
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
                self.connected.clear()
                self.leading.clear()
            log.warning("the MQTT bridge lease %s is lost; disconnected, waiting to take it again", self.lease.name)

    @staticmethod
    async def _take_lease(lease: Lease) -> bool:
        try:
            return await lease.take()
        except Exception:
            log.warning("could not take or renew the MQTT bridge lease %s", lease.name, exc_info=True)
            return False

    async def _hold(self, lease: Lease, following: asyncio.Task[None], renew: timedelta) -> None:
        """Renew the lease while following the topics; return once it is lost, or about to run out unrenewed."""
        while True:
            await asyncio.wait({following}, timeout=renew.total_seconds())
            if following.done():
                return  # it never ends on its own (it reconnects): take the lease again and start afresh
            if await self._take_lease(lease):
                continue
            if lease.held_until is None or not lease.valid(margin=renew):
                return  # another holds it, or it runs out before the next try: stop before it does

    async def _follow(self) -> None:
        backoff = 1.0
        while True:
            try:
                await self._session()
            except Exception as error:  # whatever it was, the panics must keep coming: reconnect
                if self.connected.is_set():
                    backoff = 1.0  # it was working: try again soon
                self.connected.clear()
                expected = isinstance(error, aiomqtt.MqttError | HandlingFailed | OSError)
                log.log(
                    logging.WARNING if expected else logging.ERROR,
                    "MQTT broker %s:%s: %s; reconnecting in %.0f s",
                    self.address.host,
                    self.address.port,
                    error,
                    backoff,
                    exc_info=not expected,
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
            window: asyncio.Queue[tuple[aiomqtt.Message, asyncio.Task[service.Ack | None]]] = asyncio.Queue(
                maxsize=IN_FLIGHT
            )
            parts = {
                asyncio.create_task(self._take(client, window)),
                asyncio.create_task(self._acknowledge(client, window)),
            }
            try:
                done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_EXCEPTION)
                for part in done:
                    part.result()
            finally:
                for part in parts:
                    part.cancel()
                unsettled = [window.get_nowait()[1] for _ in range(window.qsize())]
                for task in unsettled:
                    task.cancel()  # not acknowledged: the broker delivers them again
                await asyncio.gather(*parts, *unsettled, return_exceptions=True)

    async def _take(
        self, client: aiomqtt.Client, window: asyncio.Queue[tuple[aiomqtt.Message, asyncio.Task[service.Ack | None]]]
    ) -> None:
        """Start handling each message as it arrives, up to ``IN_FLIGHT`` at once (their alerts are stored together
        by the SOS writer); one topic's messages (one device's) one after another, in order."""
        last: dict[str, asyncio.Task[service.Ack | None]] = {}
        async for message in client.messages:
            topic = str(message.topic)
            before = last.get(topic)
            task = asyncio.create_task(self._handle(message, before if before and not before.done() else None))
            last[topic] = task
            await window.put((message, task))

    async def _handle(
        self, message: aiomqtt.Message, before: asyncio.Task[service.Ack | None] | None
    ) -> service.Ack | None:
        if before is not None:
            await asyncio.wait({before})
        payload = message.payload
        raw = payload if isinstance(payload, bytes | bytearray) else b"" if payload is None else str(payload).encode()
        try:
            return await service.receive(
                self.channel, str(message.topic), bytes(raw), received_at=utcnow(), record=self.records.submit
            )
        except Exception as error:
            log.error("a message on %s could not be handled; it will be delivered again", message.topic, exc_info=True)
            raise HandlingFailed(str(error)) from error

    async def _acknowledge(
        self, client: aiomqtt.Client, window: asyncio.Queue[tuple[aiomqtt.Message, asyncio.Task[service.Ack | None]]]
    ) -> None:
        """Acknowledge each message to the broker once handled, in the order they came (as MQTT asks), and answer
        the device. A message that could not be handled ends the session unacknowledged."""
        while True:
            message, task = await window.get()
            ack = await task
            if message.qos > 0:
                client._client.ack(message.mid, message.qos)
            self.handled += 1
            if ack is not None:
                await client.publish(ack.topic, json.dumps(ack.payload), qos=1)
