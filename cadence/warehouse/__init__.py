"""The warehouse: one DuckDB file, its schema and migrations. It only stores: the Python API over
it (``cadence.open``) lives in cadence/api.py, above both the warehouse and the metrics."""

from cadence.warehouse.connection import connect, default_db_path, migrate
from cadence.warehouse.write import Cursor, save, upsert

__all__ = ["connect", "default_db_path", "migrate", "Cursor", "save", "upsert"]
