"""Requests that count or compare rows take turns on a key, so that two at once cannot both miss each other."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def take_turns(session: AsyncSession, *keys: str) -> None:
    """Make concurrent transactions on the same keys take turns until they end, so limits that count rows cannot be
    raced past. SQLite's write transactions already take turns; PostgreSQL takes advisory locks (always in the
    order given, so two requests never wait on each other in a circle)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
