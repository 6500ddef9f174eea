"""The page an emergency contact reaches from the SMS asking their consent: ``/k/<code>``, in Bahasa Indonesia.

Opening the link changes nothing (phones and chat apps fetch links to preview them): the contact presses a button,
which posts the answer. The code in the link is the only key (72 random bits)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from siaga.accounts.models import Resident
from siaga.deps import ClientIP, RuntimeDep
from siaga.notify import consent

router = APIRouter(include_in_schema=False)

_STATE = {
    consent.Consent.PENDING: "Anda belum menjawab.",
    consent.Consent.CONFIRMED: "Anda sudah setuju menjadi kontak darurat.",
    consent.Consent.DECLINED: "Anda sudah menolak. Siaga tidak mengirim SMS darurat lagi ke nomor ini.",
}


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="id">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)} — Siaga</title>
  <link rel="icon" href="/static/img/siaga.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/css/base.css">
</head>
<body>
  <main class="consent">
    <h1>{escape(title)}</h1>
    {body}
  </main>
</body>
</html>
""",
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _unknown() -> HTMLResponse:
    return _page(
        "Tautan tidak dikenal", "<p>Tautan ini tidak dikenal. Periksa kembali alamat di SMS Anda.</p>", status=404
    )


@router.get("/k/{code}", response_class=HTMLResponse)
async def consent_page(code: str, runtime: RuntimeDep) -> HTMLResponse:
    """What the contact is asked, and their answer so far."""
    async with runtime.read_sessions() as session:
        record = await consent.by_code(session, code)
        resident = await session.get(Resident, record.resident_id) if record is not None else None
    if record is None or resident is None:
        return _unknown()
    name = escape(resident.name or "Seorang warga")
    return _page(
        "Kontak darurat",
        f"""<p><strong>{name}</strong> ({escape(consent.masked(resident.phone))}) mencantumkan nomor
    {escape(consent.masked(record.phone))} sebagai kontak darurat di Siaga.</p>
    <p>Bila {name} menekan tombol darurat, Anda menerima SMS berisi waktu dan lokasinya. Sebelum Anda setuju, Siaga
    mengirim paling banyak satu SMS darurat; bila Anda menolak, tidak ada lagi.</p>
    <p class="consent-state">{escape(_STATE[consent.Consent(record.state)])}</p>
    <form method="post" action="/k/{escape(code)}/setuju"><button type="submit">Setuju</button></form>
    <form method="post" action="/k/{escape(code)}/tolak"><button type="submit">Tolak</button></form>""",
    )


async def _answer(code: str, runtime: RuntimeDep, ip: str, *, agree: bool) -> HTMLResponse:
    async with runtime.unit_of_work() as session:
        record = await consent.answer(session, code=code, agree=agree, by=consent.contact(ip))
    if record is None:
        return _unknown()
    if agree:
        return _page("Terima kasih", "<p>Anda setuju menjadi kontak darurat. Anda akan menerima SMS darurat.</p>")
    return _page("Terima kasih", "<p>Anda menolak. Siaga tidak mengirim SMS darurat lagi ke nomor ini.</p>")


@router.post("/k/{code}/setuju", response_class=HTMLResponse)
async def agree(code: str, runtime: RuntimeDep, ip: ClientIP) -> HTMLResponse:
    return await _answer(code, runtime, ip, agree=True)


@router.post("/k/{code}/tolak", response_class=HTMLResponse)
async def decline(code: str, runtime: RuntimeDep, ip: ClientIP) -> HTMLResponse:
    return await _answer(code, runtime, ip, agree=False)
