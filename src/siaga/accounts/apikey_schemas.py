"""API shapes of integrators' API keys (see accounts/apikeys.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from siaga.accounts.apikeys import DEFAULT_REQUESTS_PER_MINUTE, MAX_REQUESTS_PER_MINUTE, PREFIX, Scope
from siaga.accounts.models import ApiKey
from siaga.schemas import Model, ReadModel, RowId


class ApiKeyCreate(Model):
    """An integrator's API key: for which agency, what it may do, and how often (see accounts/apikeys.py)."""

    name: str = Field(min_length=1, max_length=100, description="Whose system it is, e.g. 'Gateway Bank BJB Dago'")
    agency_id: RowId
    scopes: list[Scope] = Field(max_length=len(Scope), description="At least one")
    requests_per_minute: int = Field(default=DEFAULT_REQUESTS_PER_MINUTE, ge=1, le=MAX_REQUESTS_PER_MINUTE)


class ApiKeyRead(ReadModel):
    """A key as listed: never the key itself, only the public id it starts with."""

    id: int
    name: str
    prefix: str = Field(description="How the key starts (sk_siaga_<public id>_), to tell keys apart")
    agency_id: int
    scopes: list[Scope]
    requests_per_minute: int
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyRead:
        return cls(
            id=row.id,
            name=row.name,
            prefix=f"{PREFIX}{row.public_id}_",
            agency_id=row.agency_id,
            scopes=[Scope(s) for s in row.scopes],
            requests_per_minute=row.requests_per_minute,
            created_by=row.created_by,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key, shown this once: Siaga keeps only its hash")
