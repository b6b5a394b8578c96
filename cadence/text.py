"""Text that cadence echoes or writes: terminal control codes stripped, secrets redacted.

Two helpers for anything that reaches a terminal, a log or a file a person reads:

- ``strip_controls(text)`` removes what a terminal would obey rather than show: ANSI escape
  sequences (a server's error text can retitle the window or move the cursor), other C0/C1 control
  characters (a ``\\r`` can overwrite a line to read "sync ok"), and bidirectional overrides and
  isolates (U+202A-U+202E, U+2066-U+2069, so "ecilA" cannot show as "Alice"). Newlines and tabs
  stay. ``strip_bidi(text)`` removes only the bidirectional controls, for text rendered elsewhere
  (a report, a slide). ``one_line(text)`` also folds all whitespace, for one-line messages.
- ``SECRETS`` holds every credential in use in this process (``Http`` registers the ones it sends)
  and replaces each of them, in every form a server or a library may echo it in (plain,
  percent-encoded, base64 at any alignment, JSON-escaped), with ``[redacted]``. ``SECRETS.guard(logger)``
  makes a logger redact its records.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

# Escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), DCS/SOS/PM/APC strings,
# the 8-bit CSI (U+009B), and two-character escapes (ESC + one byte).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -~]?"
)
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# C0 except tab and newline, DEL, C1; line and paragraph separators become plain newlines.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SEPARATORS = re.compile("[\u2028\u2029\x85]")


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional embeddings, overrides, isolates and marks."""
    return _BIDI.sub("", text)


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, control characters or bidirectional controls; keeps ``\\n``, ``\\t``."""
    text = _SEPARATORS.sub("\n", _ESCAPES.sub("", str(text)))
    return strip_bidi(_CONTROLS.sub("", text))


def one_line(text: str, limit: int | None = None) -> str:
    """``strip_controls(text)`` on one line, whitespace folded, cut to ``limit`` characters."""
    folded = " ".join(strip_controls(text).split())
    return folded if limit is None or len(folded) <= limit else folded[: limit - 1] + "…"


def _base64_cores(secret: bytes) -> list[str]:
    """The base64 text that ``secret`` always encodes to, wherever it sits in a longer value.

    Base64 works on 3-byte groups, so a secret inside a longer value (``email:token`` in a Basic
    header) encodes differently at each of the three alignments; the characters that depend on
    the neighbours only are dropped.
    """
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret).decode()
        head = 4 if shift else 0
        tail = 4 if (shift + len(secret)) % 3 else 0
        core = encoded[head: len(encoded) - tail]
        if len(core) >= 8:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def encodings(secret: str) -> set[str]:
    """Every form of ``secret`` to look for: plain, percent-encoded (either hex case), base64, JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in list(forms)}
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms |= {escaped, escaped.replace("/", "\\/")}
    forms.update(_base64_cores(secret.encode("utf-8")))
    return {f for f in forms if len(f) >= 4}


class Secrets:
    """The credentials in use in this process, and a redactor for all their forms. Thread-safe."""

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._ordered: tuple[str, ...] = ()  # the forms, longest first; replaced whole, never mutated
        self._walk_always = False  # a secret JSON escapes differently: the quick check can miss it
        self._lock = threading.Lock()

    def add(self, *secrets: str | None) -> None:
        """Remember ``secrets`` (values shorter than 4 characters are not worth redacting)."""
        new = set().union(*(encodings(s) for s in secrets if s and len(s) >= 4))
        with self._lock:
            if new - self._forms:
                self._forms |= new
                self._walk_always |= any(s and json.dumps(s, ensure_ascii=False)[1:-1] != s for s in secrets)
                ordered = sorted(self._forms, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(f) for f in ordered))
                self._ordered = tuple(ordered)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def found_in(self, text: str) -> bool:
        # Substring search per form is several times faster than the regex alternation on long text.
        return any(form in text for form in self._ordered)

    def redact(self, text: str) -> str:
        """``text`` with every known secret, in every form, replaced by ``[redacted]``."""
        pattern = self._pattern
        return pattern.sub(REDACTED, text) if pattern and isinstance(text, str) else text

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings) with every secret redacted; unchanged when none is in it."""
        if not self._pattern:
            return value
        try:
            if not self._walk_always and not self.found_in(json.dumps(value, default=str, ensure_ascii=False)):
                return value
            return self._walk(value)
        except RecursionError:  # nested deeper than Python can follow: nothing of it can be checked
            return {"unreadable": "nested too deeply to be checked for secrets", "text": self.redact(str(value)[:2000])}

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact(k) if isinstance(k, str) else k: self._walk(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._walk(v) for v in value]
        return value

    def guard(self, logger: logging.Logger) -> logging.Logger:
        """Make ``logger`` redact every record it emits; returns it."""
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter(self))
        return logger


class RedactingFilter(logging.Filter):
    """A logging filter (for a logger or a handler) that redacts secrets from the formatted message."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            redacted = self.secrets.redact(message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


SECRETS = Secrets()
