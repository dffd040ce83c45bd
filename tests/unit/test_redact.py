"""The redactor: the second line of defence, tested on its own and through the CLI."""

from __future__ import annotations

import logging

from borgconf import redact
from cli_helpers import run, write_spec


def test_redact_masks_raw_and_percent_encoded_secrets():
    redact.clear()
    redact.register("p@ss w/rd")
    assert redact.redact("auth p@ss w/rd failed") == "auth *** failed"
    assert redact.redact("redis://:p%40ss%20w%2Frd@h:1") == "redis://:***@h:1"
    redact.register("abc")  # shorter than MIN_LENGTH: masking it inside words would reveal it
    assert redact.redact("abcdef") == "abcdef"
    redact.clear()
    assert redact.redact("p@ss w/rd") == "p@ss w/rd"


def test_longest_secret_is_masked_whole():
    redact.clear()
    redact.register("secret")
    redact.register("secret-longer")
    assert redact.redact("x secret-longer y") == "x *** y"
    redact.clear()


def test_log_records_are_redacted():
    redact.clear()
    redact.register("hunter2-xyz")
    record = logging.LogRecord("borgconf", logging.DEBUG, __file__, 1, "pw is %s", ("hunter2-xyz",), None)
    assert redact.RedactingFilter().filter(record)
    assert record.getMessage() == "pw is ***"
    redact.clear()


def test_an_error_that_echoes_a_secret_is_masked_by_the_cli(tmp_path, capsys, monkeypatch):
    from borgconf import live
    from borgconf.errors import BorgconfError

    def echoing(*a, **kw):
        raise BorgconfError("server said: bad value 'echoed-secret-99'")

    monkeypatch.setattr(live, "read_state", echoing)
    monkeypatch.setenv("T_PW", "echoed-secret-99")
    spec = write_spec(tmp_path / "s.yaml", "redis://127.0.0.1:1", "server:\n  requirepass: ${T_PW}\n")
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 1 and "***" in err and "echoed-secret-99" not in out + err
