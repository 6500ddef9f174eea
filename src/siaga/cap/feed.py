"""An agency's open alerts as an Atom 1.0 feed (RFC 4287) of CAP messages: pure, no I/O.

Each entry is one alert: its id stays the same while the alert changes (``urn:uuid:<alert id>``), ``updated`` moves
with it, a link leads to its CAP message and the message itself is the entry's content, as CAP feeds commonly do,
so a receiver needs one request for the whole picture. A feed longer than a page links its next page
(``rel="next"``, RFC 5005's paged feeds).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # building and writing only: Siaga never parses a feed with it
from dataclasses import dataclass
from datetime import UTC, datetime

from siaga.cap.domain import CAP_NAMESPACE, MEDIA_TYPE, AlertFacts, headline, message, xml_text

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
FEED_MEDIA_TYPE = "application/atom+xml"
_A = f"{{{ATOM_NAMESPACE}}}"


@dataclass(frozen=True, slots=True)
class Entry:
    facts: AlertFacts
    cap_url: str  # where its CAP message is fetched alone


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the feed: who it is for and where it and the next page are."""

    id: str
    title: str
    author: str
    self_url: str
    next_url: str | None
    generated_at: datetime


def atom_time(moment: datetime) -> str:
    """RFC 3339, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed(page: Page, entries: list[Entry], *, sender: str) -> ET.Element:
    """The ``<feed>``: newest alert first, each with its CAP message as content."""
    root = ET.Element(_A + "feed")
    _add(root, "id", page.id)
    _add(root, "title", page.title)
    newest = max((e.facts.updated_at for e in entries), default=page.generated_at)
    _add(root, "updated", atom_time(newest))
    author = ET.SubElement(root, _A + "author")
    _add(author, "name", page.author)
    ET.SubElement(root, _A + "link", rel="self", type=FEED_MEDIA_TYPE, href=page.self_url)
    if page.next_url is not None:
        ET.SubElement(root, _A + "link", rel="next", type=FEED_MEDIA_TYPE, href=page.next_url)
    _add(root, "generator", "Siaga")
    for entry in entries:
        root.append(_entry(entry, sender=sender))
    return root


def _entry(entry: Entry, *, sender: str) -> ET.Element:
    facts = entry.facts
    element = ET.Element(_A + "entry")
    _add(element, "id", f"urn:uuid:{facts.id}")
    _add(element, "title", headline(facts))
    _add(element, "updated", atom_time(facts.updated_at))
    _add(element, "published", atom_time(facts.created_at))
    ET.SubElement(element, _A + "link", rel="alternate", type=MEDIA_TYPE, href=entry.cap_url)
    ET.SubElement(element, _A + "category", term=facts.category.value)
    content = ET.SubElement(element, _A + "content", type=MEDIA_TYPE)
    content.append(message(facts, sender=sender))
    return element


def _add(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, _A + name).text = xml_text(text)


def serialise(element: ET.Element) -> bytes:
    """The feed as a UTF-8 XML document, Atom's namespace the default one and CAP's written ``cap:``. ElementTree
    keeps one table of prefixes for the whole process (its default_namespace option refuses Atom's unqualified
    attributes), so they are set here, just before writing, whatever another module set meanwhile."""
    ET.register_namespace("", ATOM_NAMESPACE)
    ET.register_namespace("cap", CAP_NAMESPACE)
    written: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return written
