"""What a running Siaga holds: settings, database, jurisdiction index and adapters. Built by ``create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from siaga.agencies.service import JurisdictionLocator
from siaga.config import Settings
from siaga.db import create_engine, read_session_factory, session_factory, transaction
from siaga.notify.sms import DevSMS, HttpSMS, SMSSender


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    sms: SMSSender
    locator: JurisdictionLocator = field(default_factory=JurisdictionLocator)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            read_sessions=read_session_factory(engine),
            sms=build_sms(settings),
        )

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One use case's transaction: committed if the block succeeds, rolled back otherwise."""
        async with transaction(self.sessions) as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


def build_sms(settings: Settings) -> SMSSender:
    if settings.sms_adapter == "http":
        return HttpSMS(
            url=settings.sms_http_url,
            token=settings.sms_http_token.get_secret_value(),
            sender=settings.sms_sender,
        )
    return DevSMS(dev_sms_path(settings))


def dev_sms_path(settings: Settings) -> Path:
    """Where the development SMS adapter records messages: beside the SQLite file, or ./var."""
    db_file = settings.sqlite_path()
    folder = db_file.parent if db_file is not None else Path("var")
    return folder / "dev-sms.jsonl"
