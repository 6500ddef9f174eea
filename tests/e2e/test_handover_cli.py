"""`siaga partner add` and `siaga partner list` as an administrator at the server uses them: the secrets printed
once, never listed, the change audited as the command line; plain http refused outside development mode."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from siaga import migrate
from siaga.audit.models import AuditRecord
from siaga.db import create_engine, read_session_factory
from tests.servers import serve_env, siaga


async def test_an_administrator_adds_and_lists_partners_from_the_command_line(tmp_path: Path) -> None:
    database = tmp_path / "siaga.db"
    url = f"sqlite+aiosqlite:///{database}"
    await migrate.upgrade_async(url)
    env = {**serve_env(url), "SIAGA_PARTNER_ALLOWED_NETWORKS": "127.0.0.1/32"}  # the partner: this machine
    added = siaga(
        "partner", "add", "bandung-112", "--url", "https://127.0.0.1:9/api/v1/partners/eido",
        "--label", "Bandung Siaga 112", "--no-caller", env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "partner bandung-112 (Bandung Siaga 112) added" in added.stdout
    secrets = [line.rsplit(" ", 1)[1] for line in added.stdout.splitlines() if "secret" in line]
    assert len(secrets) == 2
    assert all(s.startswith("whsec_") for s in secrets)

    listed = siaga("partner", "list", env=env, cwd=tmp_path, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split("\t")[:2] == ["bandung-112", "Bandung Siaga 112"]
    assert "caller withheld" in listed.stdout
    assert "whsec_" not in listed.stdout

    again = siaga("partner", "add", "bandung-112", "--url", "https://x.example", env=env, cwd=tmp_path, timeout=120)
    assert again.returncode == 1
    assert "partners.name_taken" in again.stderr

    # Cloud metadata, or any internal address not opened on purpose, is refused.
    metadata = siaga(
        "partner", "add", "meta", "--url", "https://169.254.169.254/latest", env=env, cwd=tmp_path, timeout=120
    )
    assert metadata.returncode == 1
    assert "partners.unsafe_address" in metadata.stderr

    production = {k: v for k, v in env.items() if k not in ("SIAGA_DEV_MODE", "SIAGA_PARTNER_ALLOWED_NETWORKS")}
    production.update(
        SIAGA_SECRET_KEY="cli-test-secret-key-0123456789-abcdefghij",
        SIAGA_SMS_ADAPTER="http",
        SIAGA_SMS_HTTP_URL="http://127.0.0.1:9/send",
    )
    plain = siaga("partner", "add", "other", "--url", "http://other.example/eido", env=production, cwd=tmp_path)
    assert plain.returncode == 1
    assert "partners.url_https" in plain.stderr

    engine = create_engine(url)
    try:
        async with read_session_factory(engine)() as session:
            records = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "partner.create"))).all()
    finally:
        await engine.dispose()
    assert [(r.actor_kind, r.detail["name"]) for r in records] == [("cli", "bandung-112")]
