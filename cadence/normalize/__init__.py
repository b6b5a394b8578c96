"""Pure functions that turn a source's raw payloads into domain records (cadence.records)."""
