"""Syncs: fetch from a source, normalise, and save page by page with the cursor."""

from cadence.sync.common import SyncReport

__all__ = ["SyncReport"]
