"""A no-op endpoint: the benchmarks' baseline for what the framework alone costs on this server.

``POST /api/v1/noop`` goes through everything an SOS press goes through before its use case runs (the body limit,
the request log, JSON parsing and the same ``AlertCreate`` validation) and answers 201 without touching the
database. It takes no token: checking one is a database read, and this endpoint measures the HTTP and validation
path only. It stores, reads and reveals nothing, so it is safe to leave open.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel

from siaga.alerts.domain import Category
from siaga.alerts.schemas import AlertCreate
from siaga.schemas import error_responses

router = APIRouter(tags=["operations"])


class NoopAccepted(BaseModel):
    id: uuid.UUID
    category: Category


@router.post("/noop", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 413, 422))
async def noop(body: AlertCreate) -> NoopAccepted:
    """Parse and validate an SOS-shaped body and answer 201 without storing anything (a benchmark baseline)."""
    return NoopAccepted(id=body.id, category=body.category)
