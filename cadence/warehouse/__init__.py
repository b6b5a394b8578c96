"""The warehouse: one DuckDB file, its schema and migrations, and the Python API over it."""

from cadence.warehouse.api import Warehouse, open_warehouse
from cadence.warehouse.connection import connect, default_db_path, migrate
from cadence.warehouse.write import Cursor, save, upsert

__all__ = ["Warehouse", "open_warehouse", "connect", "default_db_path", "migrate", "Cursor", "save", "upsert"]
