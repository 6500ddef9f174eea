"""Demo data: Bandung's agencies, kecamatan and staff, for ``make demo`` and the walk-through."""
