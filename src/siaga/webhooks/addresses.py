"""Where a webhook may go (SSRF): a URL's host is resolved and every address it has must be public, or inside a
network the operator opened on purpose (``SIAGA_WEBHOOK_ALLOWED_NETWORKS``), and never this Siaga server itself.
Checked when a subscription is saved and again before every try; the try then connects to the address checked, so
a name that resolves elsewhere a moment later (DNS rebinding) cannot move it.

"This server" is its public URL's host (by name, at any port) and, at the ports it serves on (``SIAGA_PORT``, the
public URL's, the one a request came in on), every address of: loopback and unspecified; ``SIAGA_HOST``; the
address a request came in on; what the public URL's host, ``SIAGA_HOST`` (a name) and the machine's own name
(``socket.gethostname()``) resolve to. So ``http://10.20.0.5:8000`` is refused for a Siaga on 10.20.0.5:8000 even
where ``SIAGA_WEBHOOK_ALLOWED_NETWORKS`` opens 10.20.0.0/16, and so is any other name for it. Interface addresses
the machine's name does not resolve to (a second network card, a container's bridge) are not known to it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from siaga.config import Settings
from siaga.errors import Invalid
from siaga.webhooks.domain import Address, Network, Target, parse_networks, refusal, unwrapped


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
    own_names: frozenset[str] = frozenset()  # names whose addresses are this server's (at its ports), looked up

    @classmethod
    def of(cls, settings: Settings, *, serving: tuple[str, int] | None = None) -> Guard:
        """From the settings (and the address a request came in on, ``serving``, when there is one)."""
        public = urlsplit(settings.public_url) if settings.public_url else None
        ports = {settings.port}
        hosts: set[str] = set()
        addresses: set[Address] = set()
        names = {socket.gethostname().lower()}
        if public is not None and public.hostname:
            hosts.add(public.hostname.lower())
            names.add(public.hostname.lower())
            ports.add(public.port or (443 if public.scheme == "https" else 80))
        for host in (settings.host, serving[0] if serving else None):
            try:
                addresses.add(unwrapped(ipaddress.ip_address(host or "")))
            except ValueError:
                if host:
                    names.add(host.lower())
        if serving is not None:
            ports.add(serving[1])
        return cls(
            allowed=tuple(parse_networks(settings.webhook_allowed_networks)),
            own_ports=frozenset(ports),
            own_hosts=frozenset(hosts),
            own_addresses=frozenset(addresses),
            own_names=frozenset(name for name in names if name),
        )

    def is_self(self, address: Address, port: int) -> bool:
        """An address of this machine (loopback, unspecified, or one it serves on) at a port it serves on."""
        if port not in self.own_ports:
            return False
        plain = unwrapped(address)
        return plain.is_loopback or plain.is_unspecified or plain in self.own_addresses


async def own_addresses(guard: Guard) -> frozenset[Address]:
    """This server's addresses: the guard's own, and what its own names resolve to now (a name that does not
    resolve adds nothing). Looked up at most once a minute per name."""
    found = set(guard.own_addresses)
    for name in guard.own_names:
        found |= await _own_lookup(name)
    return frozenset(found)


_OWN_TTL_S = 60.0
_own_cache: dict[str, tuple[float, frozenset[Address]]] = {}


async def _own_lookup(name: str) -> frozenset[Address]:
    cached = _own_cache.get(name)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        found: Iterable[Address] = await _lookup(name, 0)
    except Invalid:
        found = ()
    addresses = frozenset(unwrapped(address) for address in found)
    _own_cache[name] = (time.monotonic() + _OWN_TTL_S, addresses)
    return addresses


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
    own = await own_addresses(guard) if target.port in guard.own_ports else frozenset()
    for address in addresses:
        if guard.is_self(address, target.port) or unwrapped(address) in own:
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


def trusted_cas(ca_bundle: str) -> ssl.SSLContext | bool:
    """How a receiver's HTTPS certificate is checked (a webhook's, a partner centre's): against the CAs of the PEM
    file ``ca_bundle`` (a receiver on the city's network with a certificate of its own CA), or the system's (empty)."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
