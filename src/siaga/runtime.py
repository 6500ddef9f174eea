"""What a running Siaga holds: settings, database, hub, feeds, timers and adapters. Built by ``create_app``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from siaga import aftercommit, metrics
from siaga.accounts import signin
from siaga.accounts.sessions import LoginThrottle, PrincipalCache
from siaga.aftercommit import MessagesQueued, OffersDue, OffersMade, SessionsRevoked, TimelineWritten, UnitsChanged
from siaga.agencies.service import JurisdictionLocator
from siaga.alerts import raising, timeline
from siaga.alerts import service as alerts_service
from siaga.alerts.ingest import GroupCommit, Outcome
from siaga.alerts.raise_rules import RaiseRequest
from siaga.background import Loop
from siaga.config import Settings
from siaga.db import CoreRunner, create_engine, read_session_factory, session_factory, transaction, utcnow
from siaga.devices import service as devices
from siaga.devices.bridge import DeviceBridge
from siaga.devices.lease import Lease
from siaga.dispatch import offer_sms
from siaga.dispatch.timers import TimerSweep
from siaga.heap import HeapKeeper
from siaga.hub import Hub, HubLagged, hub_from_url
from siaga.notify import service as notify
from siaga.notify.consent import ContactRules
from siaga.notify.push import PushSender, RecordingPush, WebPush
from siaga.notify.sms import DevSMS, GammuSMS, HttpSMS, SMSSender, dev_sms_path
from siaga.ops import retention
from siaga.partners.delivery import Deliveries
from siaga.realtime.feed import EventFeed, FeedItem, poke, written_item
from siaga.realtime.guard import StreamSessions
from siaga.realtime.locations import LivePositions
from siaga.realtime.outbox import HubOutbox
from siaga.realtime.presence import OfficersStreaming
from siaga.realtime.troubles import LiveTroubles, TroublesChanged
from siaga.realtime.wire import WireCache
from siaga.responders.live import LiveUnits
from siaga.sms import progress
from siaga.sms.gammu import GammuInbox
from siaga.webhooks.delivery import WebhookSender
from siaga.webhooks.outbox import DeliveriesQueued

log = logging.getLogger("siaga.runtime")

DELIVERY_RETRY_S = 5.0
SMS_FOLLOW_UP_S = 5.0
WEBHOOK_ROUND_S = 2.0  # due webhook retries are found this often (a new delivery wakes the loop at once)
FIRST_PURGE_S = 300.0
PARTNER_ROUND_S = 1.0  # how often the handover outbox is looked at (a handover wakes it at once)
THROTTLE_RECORDS_S = 60.0  # logins refused from memory are recorded together this often (see accounts.signin)
# "a session was revoked": every process forgets the principals it remembers and ends the streams of ended sessions
SESSIONS_CHANNEL = "siaga.sessions"


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    sms: SMSSender
    push: PushSender | None
    hub: Hub
    locator: JurisdictionLocator = field(default_factory=JurisdictionLocator)
    officers_streaming: OfficersStreaming = field(init=False)
    feed: EventFeed = field(init=False)
    units: LiveUnits = field(init=False)
    positions: LivePositions = field(init=False)
    troubles: LiveTroubles = field(init=False)
    principals: PrincipalCache = field(init=False)
    stream_sessions: StreamSessions = field(init=False)
    wire: WireCache = field(init=False)
    timers: TimerSweep = field(init=False)
    retries: Loop = field(init=False)
    purges: Loop = field(init=False)
    started: bool = False
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    _revocations: asyncio.Task[None] | None = None
    _timers_listen: int = 0

    def __post_init__(self) -> None:
        self.core = CoreRunner(self.engine)
        self.after_commit = aftercommit.Handlers()
        self._register_after_commit()
        self.feed = EventFeed(self.read_sessions, self.hub, core=self.core)
        self.outbox = HubOutbox(self.hub)  # the hub hears of commits in the background: a write never waits on it
        self.principals = PrincipalCache(self.core, self.read_sessions)
        self.stream_sessions = StreamSessions(self.read_sessions)
        self.wire = WireCache()  # the streams' shared serialised messages: this runtime's own, bounded
        self.ingest: GroupCommit[RaiseRequest] = GroupCommit(self._write_presses)
        self.units = LiveUnits(self.sessions, self.read_sessions, self.hub)
        self.units.tracker.exercise_units_answer_real_alerts = self.settings.exercise_units_answer_real_alerts
        self.positions = LivePositions(self.hub)
        self.troubles = LiveTroubles(self.hub)  # panic buttons' troubles, live to the consoles
        self.officers_streaming = OfficersStreaming(self.sessions)  # who hears offers on a stream, not by SMS
        self.logins = asyncio.Semaphore(self.settings.logins_at_once)  # see deps.login_slot
        self.login_throttle = LoginThrottle()  # login counters this process found over their limit
        self.timers = TimerSweep(
            self.unit_of_work,
            self.read_sessions,
            self.units.tracker,
            interval=self.settings.timer_interval_seconds,
        )
        self.heap = HeapKeeper(
            freeze_every_s=self.settings.gc_freeze_seconds, reclaim_every_s=self.settings.gc_reclaim_seconds
        )
        self.retries = Loop(
            "delivery-retry", lambda: notify.retry_due(self.unit_of_work, self.senders), interval=DELIVERY_RETRY_S
        )
        self.webhooks = WebhookSender(self.settings, self.unit_of_work)
        self.webhook_loop = Loop("webhook-deliveries", self.webhooks.deliver_due, interval=WEBHOOK_ROUND_S)
        # The first purge a few minutes after start, not an interval later: a process restarted more often than the
        # interval (a deployment a day, a crash loop) still purges.
        every = self.settings.retention_purge_interval_seconds
        self.purges = Loop("retention-purge", self.purge, interval=every, first_after=min(every, FIRST_PURGE_S))
        # Fixed panic buttons over MQTT: only where a broker is configured (make demo runs without one).
        mqtt_url = self.settings.mqtt_url.get_secret_value()
        self.devices: DeviceBridge | None = (
            DeviceBridge(self, mqtt_url, client_id=self.settings.mqtt_client_id, lease=self._bridge_lease())
            if mqtt_url
            else None
        )
        self.device_sweep = Loop("device-supervision", self.sweep_devices, interval=self.settings.device_sweep_seconds)
        # Alerts handed over to partner centres: sent from their outbox until acknowledged (woken by each handover).
        self.partner_deliveries = Deliveries(self.unit_of_work, self.settings)
        self.partner_loop = Loop("partner-handovers", self.partner_deliveries.round, interval=PARTNER_ROUND_S)
        self.throttle_records = Loop("login-throttle-records", self.record_throttled, interval=THROTTLE_RECORDS_S)
        # SMS in: a GSM modem's inbox read every second (Gammu SMSD), or, with an HTTP provider's webhook, messages
        # whose handling failed tried again; both tell SMS callers a unit is coming. make demo (dev SMS) has neither.
        self.sms_inbox: Loop | None = None
        if self.settings.sms_adapter == "gammu":
            gammu = GammuInbox(self, self.settings.sms_gammu_config)
            every_s = self.settings.sms_gammu_interval_seconds
            self.sms_inbox = Loop("sms-inbox", gammu.poll, interval=every_s, first_after=0.0)
        elif self.settings.sms_adapter == "http":
            self.sms_inbox = Loop("sms-follow-up", partial(progress.follow_up, self), interval=SMS_FOLLOW_UP_S)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        # Outside development, SQL parameters (codes, NIKs, medical notes) never reach error messages and logs.
        engine = create_engine(settings.database_url, hide_parameters=not settings.dev_mode)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            read_sessions=read_session_factory(engine),
            sms=build_sms(settings),
            push=build_push(settings),
            hub=hub_from_url(settings.hub_url),
        )

    async def _write_presses(self, requests: Sequence[RaiseRequest]) -> list[Outcome]:
        """A batch of SOS presses in one transaction (see ``alerts.raising``), then what a unit of work does after."""
        places = await raising.place(
            self.locator, self.read_sessions, requests, buffer_m=self.settings.jurisdiction_buffer_m
        )
        outcomes, events = await self.core.write(
            partial(raising.store, requests=requests, places=places, settings=self.settings)
        )
        committed = utcnow()
        for each in requests:
            metrics.PRESS_TO_COMMIT.observe((committed - each.received_at).total_seconds())
        await self.after_commit.run(events)
        return outcomes

    @property
    def senders(self) -> notify.Senders:
        return notify.Senders(
            sms=self.sms,
            push=self.push,
            contacts=ContactRules.of(self.settings),
            alarms=alerts_service.alarm_subject,
            failed=timeline.record_delivery_failure,
            sms_sent=timeline.record_sms,
        )

    async def start(self) -> None:
        """Connect the hub and start following the timeline, the units and the timers.

        A hub that does not answer does not stop Siaga: SOS presses are stored and every stream still follows the
        timeline by polling the database; the hub is retried in the background."""
        try:
            await self.hub.start()
        except Exception:
            log.error("the event hub does not answer; running on database polling until it does", exc_info=True)
            self.spawn(self._start_hub_later())
        self.outbox.start()
        await self.feed.start()
        await self.units.start()
        await self.positions.start()
        await self.troubles.start()
        self.officers_streaming.start()
        # A unit that becomes available is offered an alert waiting for one.
        self._timers_listen = self.units.register(self.timers.on_units)
        await self.timers.start()
        self.retries.start()
        self.webhook_loop.start()
        self.purges.start()
        self.throttle_records.start()
        self.partner_loop.start()
        self.ingest.start()
        if self.sms_inbox is not None:
            self.sms_inbox.start()
        if self.devices is not None:
            self.devices.start()
            self.device_sweep.start()
        self._revocations = asyncio.create_task(self._follow_revocations(), name="sessions-follow")
        self.stream_sessions.start()
        self.heap.start()  # last: what start-up built is long-lived
        self.started = True

    async def stop(self) -> None:
        self.started = False
        await self.heap.stop()
        if self._revocations is not None:
            self._revocations.cancel()  # it only waits on the hub
            await asyncio.gather(self._revocations, return_exceptions=True)
            self._revocations = None
        await self.stream_sessions.stop()
        if self.sms_inbox is not None:
            await self.sms_inbox.stop()  # before the SOS writer: what it holds is raised, or read again at start
        if self.devices is not None:
            await self.device_sweep.stop()
            await self.devices.stop()  # before the SOS writer: a panic it holds is stored or left to the broker
        await self.ingest.stop()
        await self.purges.stop()
        await self.throttle_records.stop()
        try:
            await self.record_throttled()  # the last minute's refusals too
        except Exception:
            log.exception("recording the logins refused from memory failed")
        await self.retries.stop()
        await self.webhook_loop.stop()
        await self.partner_loop.stop()
        await self.timers.stop()
        self.units.unregister(self._timers_listen)
        await self.officers_streaming.stop()
        await self.positions.stop()
        await self.troubles.stop()
        await self.units.stop()
        await self.feed.stop()
        # Let side work in flight finish (it holds database connections), then cancel what is left.
        if self._background:
            await asyncio.wait(list(self._background), timeout=5.0)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.outbox.stop()
        await self.hub.stop()

    async def record_throttled(self) -> int:
        """Record the staff logins this process refused from memory since the last time (see accounts.signin)."""
        return await signin.record_throttled(self.unit_of_work, self.login_throttle)

    async def purge(self) -> dict[str, int]:
        """Remove what is past its retention period (see ``ops.retention``), audited; the count per kind."""
        async with self.unit_of_work() as session:
            return await retention.purge(session, periods=retention.Periods.from_settings(self.settings))

    def _bridge_lease(self) -> Lease:
        """One process of those sharing the database holds the MQTT subscription (see ``devices.bridge``)."""
        ttl = timedelta(seconds=self.settings.mqtt_lease_seconds)
        return Lease(self.sessions, name=f"mqtt:{self.settings.mqtt_client_id}", ttl=ttl)

    async def sweep_devices(self) -> int:
        """Open a "device offline" trouble for each panic button silent past its heartbeat interval."""
        async with self.unit_of_work() as session:
            return await devices.sweep_offline(session)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One use case's transaction: committed if the block succeeds, rolled back otherwise. After the commit,
        the streams, the other processes, the notifiers and the timers hear of it."""
        async with transaction(self.sessions) as session:
            yield session
        await self.after_commit.run(aftercommit.collected(session))

    def _register_after_commit(self) -> None:
        """What each kind of ``aftercommit`` event sets going once its transaction commits."""
        on = self.after_commit.on
        on(SessionsRevoked, self._sessions_revoked)
        on(TimelineWritten, self._timeline_written)
        on(UnitsChanged, self._units_changed)
        on(MessagesQueued, self._messages_queued)
        on(OffersDue, self._offers_due)
        on(OffersMade, self._offers_made)
        on(DeliveriesQueued, self._webhooks_queued)
        on(TroublesChanged, self._troubles_changed)

    def _sessions_revoked(self, _: Sequence[SessionsRevoked]) -> None:
        self.principals.forget_all()
        self.stream_sessions.revoked()
        if self.started:
            self.outbox.put(SESSIONS_CHANNEL, "1")  # if it is lost, other processes still see it within seconds

    def _timeline_written(self, events: Sequence[TimelineWritten]) -> None:
        if not self.started:
            return
        items: list[FeedItem] = []
        for event in events:
            if event.items is None:
                self.feed.wake()  # read back, with every event of the transaction
                break
            items.extend(written_item(written) for written in event.items)
        else:
            self.feed.offer(items)  # built by their writer: no need to read them back
        poke(self.outbox)

    def _units_changed(self, events: Sequence[UnitsChanged]) -> None:
        if self.started:
            self.spawn(self.units.publish_units(sorted(set().union(*(e.unit_ids for e in events)))))

    def _messages_queued(self, events: Sequence[MessagesQueued]) -> None:
        if self.started:
            ids = [i for event in events for i in event.message_ids]
            self.spawn(notify.deliver(self.unit_of_work, self.senders, ids))

    def _troubles_changed(self, events: Sequence[TroublesChanged]) -> None:
        if self.started:
            self.spawn(self.troubles.publish([notice for event in events for notice in event.notices]))

    def _webhooks_queued(self, _: Sequence[DeliveriesQueued]) -> None:
        if self.started:
            self.webhook_loop.wake()

    def _offers_due(self, _: Sequence[OffersDue]) -> None:
        if self.started:
            self.timers.wake()

    def _offers_made(self, events: Sequence[OffersMade]) -> None:
        if self.started:
            self.spawn(self._text_offers(tuple(i for event in events for i in event.offer_ids)))

    async def _text_offers(self, offer_ids: tuple[int, ...]) -> None:
        """The officers of offered units whose phone has no stream open here get the offer by SMS."""
        async with self.read_sessions() as session:
            if not await offer_sms.anyone_to_text(session, offer_ids=offer_ids, streaming=self.officers_streaming):
                return
        async with self.unit_of_work() as session:
            await offer_sms.text_offers(
                session, settings=self.settings, offer_ids=offer_ids, streaming=self.officers_streaming
            )

    async def _follow_revocations(self) -> None:
        """Forget remembered principals, and end the streams of ended sessions, whenever another process revokes a
        session."""
        while True:
            try:
                async with self.hub.subscribe(SESSIONS_CHANNEL) as subscription:
                    async for _ in subscription:
                        self.principals.forget_all()
                        self.stream_sessions.revoked()
                return  # the hub stopped
            except HubLagged:
                self.principals.forget_all()
                self.stream_sessions.revoked()
            except Exception:  # the hub is down: remembered principals still lapse within seconds
                self.principals.forget_all()
                self.stream_sessions.revoked()
                await asyncio.sleep(1.0)

    async def _start_hub_later(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            try:
                await self.hub.start()
            except Exception:
                log.warning("the event hub still does not answer")
                continue
            log.info("the event hub answers again")
            return

    def spawn(self, work: Any) -> None:
        """Run side work in the background (the caller does not wait). Failures are logged; what matters is
        recorded in the database and retried by its own loop."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    async def close(self) -> None:
        self.core.close()
        await self.webhooks.close()
        await self.partner_deliveries.close()
        await self.engine.dispose()


def build_sms(settings: Settings) -> SMSSender:
    if settings.sms_adapter == "gammu":
        return GammuSMS(config=settings.sms_gammu_config, inject=settings.sms_gammu_inject)
    if settings.sms_adapter == "http":
        return HttpSMS(
            url=settings.sms_http_url,
            token=settings.sms_http_token.get_secret_value(),
            sender=settings.sms_sender,
        )
    return DevSMS(dev_sms_path(settings))


def build_push(settings: Settings) -> PushSender | None:
    key = settings.vapid_private_key.get_secret_value()
    if key:
        return WebPush(vapid_private_key=key, subject=settings.vapid_subject)
    return RecordingPush() if settings.dev_mode else None
