"""The scanning service (FastAPI): auth, devices, catalog, policies, QR, scan, offline."""
