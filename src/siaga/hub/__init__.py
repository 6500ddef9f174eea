"""The event hub: tells every Siaga process that something happened, so each can fan out to its WebSocket clients.

Messages are small text notices (the newest event id, an officer's position); the database holds the truth. A hub is
chosen by URL: ``memory://`` (one process), ``postgresql://`` (LISTEN/NOTIFY) or ``redis://`` (pub/sub). Each hub
holds ONE listening connection and fans messages out to bounded per-subscriber queues, so a slow subscriber never
blocks the listener, a publisher or anyone else. When a subscriber may have missed messages (its queue overflowed, or
the backend connection dropped and came back), its iteration raises ``HubLagged`` once: re-read the database from
the last event you saw, then iterate again.
"""

from __future__ import annotations

from siaga.hub.base import DEFAULT_MAX_QUEUE, Hub, HubLagged, HubStatus, HubUnavailable, Subscription
from siaga.hub.memory import MemoryHub
from siaga.hub.postgres import PostgresHub
from siaga.hub.redis import RedisHub

__all__ = [
    "DEFAULT_MAX_QUEUE",
    "Hub",
    "HubLagged",
    "HubStatus",
    "HubUnavailable",
    "MemoryHub",
    "PostgresHub",
    "RedisHub",
    "Subscription",
    "hub_from_url",
]


def hub_from_url(url: str) -> Hub:
    """memory:// (in-process, the default), postgresql://... or postgres://... (LISTEN/NOTIFY via asyncpg; also accept
    the SQLAlchemy form postgresql+asyncpg://), redis://host:port/db (pub/sub via redis.asyncio). ValueError with a
    clear message for anything else."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        return MemoryHub(url)
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return PostgresHub(url)
    if scheme in ("redis", "rediss"):
        return RedisHub(url)
    # Only the scheme goes in the message: the rest of a URL may hold a password.
    raise ValueError(
        f"unknown hub URL scheme {scheme!r}: use memory://, postgresql://user@host/db or redis://host:port/db"
    )
