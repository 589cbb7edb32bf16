"""SQLite state store (WAL) shared by kernels, the server extension, job supervisors and bakes.

``Store`` (db.py) owns the connection and migrations; the record accessors live beside it,
one module per kind of record: projects.py, jobs.py, bakes.py.
"""

from __future__ import annotations

from .db import SCHEMA_VERSION, Store, open_store

__all__ = ["SCHEMA_VERSION", "Store", "open_store"]
