"""Gate profiles of the catalog models, as JSON (made by scripts/calibrate_catalog.py)."""
