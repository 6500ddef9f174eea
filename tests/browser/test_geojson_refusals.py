"""A broken GeoJSON uploaded from the admin page is refused in the administrator's language: each problem, the
feature and the coordinate at fault, in Bahasa Indonesia by default and in English on request, for a kecamatan file
and for an agency's service area alike (one refusal for both)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import Site
from tests.browser.test_admin import jurisdiction, log_in

SWAPPED = [[-6.90, 107.60], [-6.90, 107.62], [-6.88, 107.62], [-6.88, 107.60], [-6.90, 107.60]]  # [lat, lon]


def collection(*features: dict[str, object]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


async def test_a_broken_kecamatan_file_and_service_area_are_refused_in_indonesian_then_english(
    site: Site, tmp_path: Path
) -> None:
    page, admin = await log_in(site)

    # A kecamatan file with two broken features: both are named, in Indonesian.
    await page.get_by_role("link", name="Wilayah").click()
    upload = page.locator("form.upload")
    broken = tmp_path / "kecamatan.geojson"
    broken.write_text(
        collection(
            {"type": "Feature", "properties": {"nama": "Tanpa Kode"}, "geometry": None},
            {"type": "Feature", "properties": {"kode": "99.01", "nama": "Titik"}, "geometry": {"type": "Point"}},
        ),
        encoding="utf-8",
    )
    await page.set_input_files("#geojson-file", str(broken))
    await upload.get_by_role("button", name="Unggah").click()
    refusal = upload.get_by_test_id("error")
    await expect(refusal).to_contain_text("Berkas GeoJSON tidak valid.")
    items = refusal.locator("li")
    await expect(items).to_have_text(
        [
            "features[0]: properti 'kode' tidak ada (yang ada: nama).",
            "features[1] (kode '99.01'): geometrinya berupa Point; hanya Polygon dan MultiPolygon yang diterima.",
        ]
    )
    await expect(refusal).not_to_contain_text("is missing")
    assert await jurisdiction(site, admin, "99.01") is None

    # An agency's own polygon with [lat, lon] positions: the same refusal, in the same words.
    await page.get_by_role("link", name="Perutean").click()
    row = page.get_by_test_id("service-areas").locator("tr").filter(has_text="Damkar Sektor Utara")
    await row.get_by_role("button", name="Ubah wilayah").click()
    editor = page.get_by_test_id("service-area-editor")
    area = tmp_path / "sektor.geojson"
    area.write_text(
        collection({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [SWAPPED]}}),
        encoding="utf-8",
    )
    await editor.locator("#area-file").set_input_files(str(area))
    await editor.get_by_role("button", name="Unggah poligon").click()
    said = editor.get_by_test_id("error").locator("li")
    await expect(said).to_have_text(
        "features[0]: koordinat tampaknya tertukar: geometry.coordinates[0][0] bernilai [-6.9, 107.6] dan setiap "
        "nilai pertama berada dalam ±90, jadi posisinya tampak sebagai [lintang, bujur]; GeoJSON mengharuskan "
        "[bujur, lintang]."
    )

    # In English on request, the same problem in English.
    await page.get_by_label("Bahasa").select_option("en")
    await expect(said).to_have_text(
        "features[0]: coordinates look swapped: geometry.coordinates[0][0] is [-6.9, 107.6] and every first value is "
        "within ±90, so the positions appear to be [lat, lon]; GeoJSON requires [lon, lat]."
    )
    await page.context.close()
