"""cadence/text.py: what reaches a terminal, and redaction of a secret in every encoding.

Oracles: ECMA-48 (the escape and control sequences terminals obey: CSI ``ESC [``, OSC ``ESC ]``
ended by BEL, C0 and C1 controls), Unicode's bidirectional controls (UAX #9: U+202A-U+202E,
U+2066-U+2069, U+200E/U+200F, U+061C), and encodings worked out by hand in each test.
"""

from __future__ import annotations

import base64
import json

from cadence.text import Secrets, one_line, strip_bidi, strip_controls


def test_terminal_sequences_and_controls_are_removed_text_stays():
    hostile = "\x1b]0;pwned\x07\x1b[2K\rcadence: sync ok\x1b[31m!\x9b1A\x00\x7f"
    assert strip_controls(hostile) == "cadence: sync ok!"
    assert strip_controls("a\tb\nc") == "a\tb\nc"  # tabs and newlines are text
    assert strip_controls("straße, 東京, 😀") == "straße, 東京, 😀"


def test_bidirectional_overrides_cannot_turn_ecila_into_alice():
    assert strip_bidi("\u202eecilA\u202c") == "ecilA"
    assert strip_controls("x\u2066y\u2069\u200fz\u061c") == "xyz"


def test_one_line_folds_and_cuts():
    assert one_line("  a\n\n b\u2028c\t d  ") == "a b c d"
    assert one_line("abcdefghij", 6) == "abcde…"


def test_a_secret_is_redacted_in_every_encoding():
    token = "tok/en+SECRET=42"
    secrets = Secrets()
    secrets.add(token)
    written = {
        "plain": f"x {token} y",
        "percent": "x tok%2Fen%2BSECRET%3D42 y",
        "percent, lower case": "x tok%2fen%2bSECRET%3d42 y",
        "form-encoded": "x tok%2Fen%2BSECRET%3D42 y".replace("%20", "+"),
        "base64 of the token": base64.b64encode(token.encode()).decode(),
        "JSON with escaped slashes": json.dumps({"t": token}).replace("/", "\\/"),
    }
    for name, text in written.items():
        assert "SECRET" not in secrets.redact(text), name
    # Inside a longer base64 value, at each of the three alignments (Basic auth of user:token).
    for user in ("a", "ab", "abc"):
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        redacted = secrets.redact(basic)
        # Of the 24 characters the 16-byte token takes up, at most the 4 it shares with each neighbour stay.
        assert "[redacted]" in redacted and len(basic) - len(redacted.replace("[redacted]", "")) >= 16, (user, redacted)


def test_redacting_json_keeps_its_shape():
    secrets = Secrets()
    secrets.add("jira-SECRET-1")
    body = {"errorMessages": ["echo jira-SECRET-1"], "errors": {"jira-SECRET-1": "x"}, "n": 3}
    assert secrets.redact_value(body) == {"errorMessages": ["echo [redacted]"], "errors": {"[redacted]": "x"}, "n": 3}
    clean = {"key": "A-2"}
    assert secrets.redact_value(clean) is clean  # nothing to redact: the same object, no copy
