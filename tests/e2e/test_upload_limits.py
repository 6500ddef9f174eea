"""A real city's kecamatan file uploads from admin, though every other request keeps the small body limit."""

from __future__ import annotations

import json

from siaga.accounts.domain import Role
from siaga.runtime import Runtime
from tests.conftest import BANDUNG_GEOJSON, Api, sos_body

IMPORT = "/api/v1/jurisdictions/import"


async def test_an_admin_uploads_bandungs_kecamatan_file_though_it_is_over_the_general_body_limit(
    api: Api, db: Runtime
) -> None:
    data = BANDUNG_GEOJSON.read_bytes()
    assert len(data) > db.settings.max_body_bytes  # 223 KB against 64 KB: the upload the issue saw refused
    admin = await api.staff(Role.ADMIN)
    answer = await api.http.post(IMPORT, content=data, headers={**admin.headers, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == len(json.loads(data)["features"])


async def test_the_larger_limit_is_the_import_routes_alone_and_has_its_own_end(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    resident = await api.resident()
    size = db.settings.max_body_bytes * 2  # under the import limit, over everyone else's
    press = json.dumps(sos_body(description="x" * size)).encode()
    answer = await api.http.post(
        "/api/v1/alerts", content=press, headers={**resident.headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "request.too_large"
    # The same path with another method, and a neighbouring admin route, keep the general limit too.
    for method, path in [("PUT", IMPORT), ("PUT", "/api/v1/jurisdictions/99.01.01/agencies")]:
        answer = await api.http.request(
            method, path, content=b" " * size, headers={**admin.headers, "Content-Type": "application/json"}
        )
        assert answer.status_code == 413, (method, path, answer.text)

    too_big = b" " * (db.settings.max_import_bytes + 1)
    answer = await api.http.post(IMPORT, content=too_big, headers={**admin.headers, "Content-Type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["details"] == {"limit_bytes": db.settings.max_import_bytes}
