"""Where a webhook may go (SSRF): a URL's host is resolved and every address it has must be public, or inside a
network the operator opened on purpose (``SIAGA_WEBHOOK_ALLOWED_NETWORKS``), and never this Siaga server itself.
Checked when a subscription is saved and again before every try; the try then connects to the address checked, so
a name that resolves elsewhere a moment later (DNS rebinding) cannot move it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from siaga.config import Settings
from siaga.errors import Invalid
from siaga.webhooks.domain import Address, Network, Target, parse_networks, refusal


class UnsafeAddress(Invalid):
    """A webhook URL that points at a private or internal address, or at this server."""

    default_code = "webhook.unsafe_address"


@dataclass(frozen=True, slots=True)
class Guard:
    """What the checks need to know: the networks opened on purpose, and this server's own ports and names."""

    allowed: tuple[Network, ...] = ()
    own_ports: frozenset[int] = frozenset()
    own_hosts: frozenset[str] = frozenset()  # names of this server (its public URL's host): refused whatever the port
    own_addresses: frozenset[Address] = field(default_factory=frozenset)

    @classmethod
    def of(cls, settings: Settings, *, serving: tuple[str, int] | None = None) -> Guard:
        """From the settings (and the address a request came in on, ``serving``, when there is one)."""
        public = urlsplit(settings.public_url) if settings.public_url else None
        ports = {settings.port}
        hosts: set[str] = set()
        addresses: set[Address] = set()
        if public is not None and public.hostname:
            hosts.add(public.hostname.lower())
            ports.add(public.port or (443 if public.scheme == "https" else 80))
        for host in (settings.host, serving[0] if serving else None):
            try:
                addresses.add(ipaddress.ip_address(host or ""))
            except ValueError:
                continue
        if serving is not None:
            ports.add(serving[1])
        return cls(
            allowed=tuple(parse_networks(settings.webhook_allowed_networks)),
            own_ports=frozenset(ports),
            own_hosts=frozenset(hosts),
            own_addresses=frozenset(addresses),
        )

    def is_self(self, address: Address, port: int) -> bool:
        """An address of this machine (loopback, unspecified, or one it serves on) at a port it serves on."""
        if port not in self.own_ports:
            return False
        return address.is_loopback or address.is_unspecified or address in self.own_addresses


async def resolve(target: Target, guard: Guard) -> Address:
    """The address to connect to for ``target``, once every address its host resolves to passed; else
    ``UnsafeAddress`` (or ``Invalid`` when the host does not resolve)."""
    host = target.host.lower().rstrip(".")
    if host in guard.own_hosts:
        raise UnsafeAddress("the URL points at this Siaga server itself", details={"field": "url"})
    try:
        addresses: Sequence[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _lookup(host, target.port)
    for address in addresses:
        if guard.is_self(address, target.port):
            raise UnsafeAddress("the URL points at this Siaga server itself", details={"field": "url"})
        reason = refusal(address, allowed=guard.allowed)
        if reason is not None:
            raise UnsafeAddress(
                f"webhooks are not sent to {target.host}: {reason}",
                details={"field": "url", "address": str(address)},
            )
    return addresses[0]


async def _lookup(host: str, port: int) -> list[Address]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Invalid(
            f"the URL's host {host} cannot be found ({exc})", code="webhook.unresolvable", details={"field": "url"}
        ) from exc
    addresses: list[Address] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Invalid(f"the URL's host {host} has no address", code="webhook.unresolvable", details={"field": "url"})
    return addresses
