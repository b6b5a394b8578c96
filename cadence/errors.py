"""Errors that reach the user as one line on stderr, with the exit code PRODUCT.md gives."""

from __future__ import annotations


class CadenceError(Exception):
    """A failure the user must act on (exit 1). The message is one line and holds no secret."""

    exit_code = 1


class ConfigError(CadenceError):
    """A configuration file is wrong: the message names the file, the key and what was expected."""


class WarehouseError(CadenceError):
    """The DuckDB file cannot be opened as asked (locked, too new, missing)."""


class SourceError(CadenceError):
    """A source refused or could not be reached (authentication, unknown project, host down)."""


class PartialSync(CadenceError):
    """Some of a sync failed; what was saved is kept and the next run resumes (exit 2)."""

    exit_code = 2
