"""API shapes for agencies and jurisdictions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from siaga.agencies.domain import Service
from siaga.agencies.models import AgencyKind
from siaga.schemas import Model, ReadModel, ShortText


class AgencyCreate(Model):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{2,64}$")]
    name: ShortText = Field(min_length=2)
    kind: AgencyKind
    parent_code: str | None = None
    phone: str | None = None


class AgencyRead(ReadModel):
    id: int
    code: str
    name: str
    kind: AgencyKind
    parent_id: int | None
    phone: str | None
    created_at: datetime
    direct_offers: bool
    offer_size: int
    offer_timeout_seconds: int
    offer_radius_m: float
    ack_timeout_seconds: int | None = Field(description="T1 for this agency's alerts; null: the server's setting")
    dispatch_timeout_seconds: int | None = Field(description="T2 for this agency's alerts; null: the server's setting")


class RoutingRuleRead(ReadModel):
    """One row of the routing table: alerts of ``category`` go to ``services``, in order."""

    category: str
    services: list[Service] = Field(
        description="The first service whose agency covers the alert's place is responsible; the others are informed"
    )


class RoutingRuleSet(Model):
    services: Annotated[list[Service], Field(min_length=1, max_length=len(Service))]


class ServiceAreaRead(ReadModel):
    """Where an agency that is not police serves: its own polygon, or the kecamatan it covers."""

    agency_code: str
    polygon: bool = Field(description="The agency has a polygon of its own (it wins over its kecamatan list)")
    kecamatan: list[str]
    geometry: dict[str, Any] | None = None
    source: str
    updated_at: datetime


class ServiceAreaSet(Model):
    """A polygon (a GeoJSON FeatureCollection of (Multi)Polygons, validated as kecamatan uploads are), or else the
    kecamatan codes the agency covers."""

    geojson: dict[str, Any] | None = None
    kecamatan: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=500)] = Field(
        default_factory=list
    )


class JurisdictionRead(ReadModel):
    id: int
    code: str
    name: str
    nik_prefix: str | None
    centroid_lat: float
    centroid_lon: float
    agencies: list[JurisdictionAgencyRead] = Field(default_factory=list)


class JurisdictionAgencyRead(ReadModel):
    agency_code: str
    is_primary: bool


class JurisdictionAgencyIn(Model):
    agency_code: str
    is_primary: bool = True


class JurisdictionAgenciesSet(Model):
    agencies: Annotated[list[JurisdictionAgencyIn], Field(min_length=1, max_length=10)]


class ImportResult(ReadModel):
    created: list[str]
    updated: list[str]
    total: int


class PlacementRead(ReadModel):
    jurisdiction_code: str | None
    jurisdiction_name: str | None
    agency_code: str
    method: str = Field(description="inside, overlap, nearest (within the buffer) or default (outside every polygon)")
    distance_m: float
    informed: list[str] = Field(
        default_factory=list, description="With a category: the agencies informed besides ``agency_code``"
    )


GeoJSONDoc = dict[str, Any]

JurisdictionRead.model_rebuild()
