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


# -- whole occurrences only (issue 10, group 8) ---------------------------------


def test_a_secret_inside_a_longer_word_is_not_masked():
    """Masking a secret inside a word would tell the reader the secret by the
    word left around the mask ("applied 2 ***(s)" says the password is
    "change"). Such weak secrets are refused by lint weak-secret; the redactor
    never masks inside a word either."""
    redact.clear()
    for secret, text in [
        ("change", "applied 2 change(s)"),
        ("change", "no changes; exchange rate"),
        ("policy", "maxmemory-policy: noeviction"),
        ("redis", "wrote config/redis.conf and redis_servers"),
        ("user", "the user's password"),
        ("parameter", "valid (3 parameter(s))"),
    ]:
        redact.register(secret)
        assert redact.redact(text) == text, (secret, text)
        redact.clear()


def test_whole_occurrences_are_masked_wherever_they_stand():
    redact.clear()
    secret = "Kx9fPq2mLw7vRt"
    redact.register(secret)
    cases = {
        f"redis://:{secret}@cache:6379/0": "redis://:***@cache:6379/0",
        f"redis://app:{secret}@cache": "redis://app:***@cache",
        f"'{secret}'": "'***'",
        f'"{secret}"': '"***"',
        f"requirepass={secret}": "requirepass=***",
        f"REDIS_PASSWORD={secret}\n": "REDIS_PASSWORD=***\n",
        f"user app on >{secret} ~app:*": "user app on >*** ~app:*",
        f"{secret}": "***",
        f"auth {secret}.": "auth ***.",
        f"({secret})": "(***)",
        f"a {secret}, {secret};": "a ***, ***;",
    }
    for text, want in cases.items():
        assert redact.redact(text) == want, text
    assert redact.redact(secret + "x") == secret + "x"  # another, longer word
    redact.clear()


def test_a_secret_with_punctuation_is_masked_as_a_token():
    """Its own punctuation bounds it: ``:secret@`` in a URL, ``-`` at either end."""
    redact.clear()
    redact.register("-pa$$:w0rd/Q9-")
    assert redact.redact("x-pa$$:w0rd/Q9-y") == "x***y"
    assert redact.redact("redis://:-pa%24%24%3Aw0rd%2FQ9-@h") == "redis://:***@h"  # its percent-encoded form
    redact.clear()
    redact.register("Zr8:Wq3@Nm5")
    assert redact.redact("redis://:Zr8:Wq3@Nm5@host") == "redis://:***@host"
    assert redact.redact("pw='Zr8:Wq3@Nm5'") == "pw='***'"
    redact.clear()


def test_the_longest_of_two_overlapping_secrets_wins_and_a_shorter_one_still_masks():
    redact.clear()
    redact.register("Tq7mWz3xLp")
    redact.register("Tq7mWz3xLp-Rk2v9")
    assert redact.redact("a Tq7mWz3xLp-Rk2v9 b Tq7mWz3xLp c") == "a *** b *** c"
    redact.clear()


def test_the_cli_masks_whole_occurrences_and_leaves_words_alone(tmp_path, capsys, monkeypatch):
    """Through the CLI: a server error echoing the secret in a URL, in quotes
    and after '=' is masked; borgconf's own words around a secret that is also
    a word ("parameter(s)") are left as they are."""
    from borgconf import live
    from borgconf.errors import BorgconfError

    secret = "Hv4kTq9zWm2x"

    def echoing(*a, **kw):
        raise BorgconfError(f"server said: redis://:{secret}@h:1 bad value '{secret}' (requirepass={secret})")

    redact.clear()
    monkeypatch.setattr(live, "read_state", echoing)
    monkeypatch.setenv("T_PW", secret)
    spec = write_spec(tmp_path / "s.yaml", "redis://127.0.0.1:1", "server:\n  requirepass: ${T_PW}\n")
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 1 and secret not in out + err
    assert "redis://:***@h:1 bad value '***' (requirepass=***)" in err, err
    redact.clear()
    # a secret that is also a word (8+ characters, not a common one): "1 parameter(s)" stays readable
    monkeypatch.setenv("T_PW", "parameter")
    rc, out, err = run(capsys, "validate", spec)
    assert rc == 0, err
    assert f"{spec}: valid (1 parameter(s), 0 service(s), 1 target(s))" in out, out
    redact.clear()


def test_secrets_registered_by_many_threads_while_others_mask_are_all_kept():
    """A fleet's threads register secrets while others mask their output: no
    secret is lost and no mask fails on a set changed under it."""
    import threading

    from borgconf import redact as R

    import sys

    R.clear()
    errors: list[BaseException] = []
    secrets = [f"pw-{i:05d}-Xq7!mZ" for i in range(4000)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands as often as they can (put back below, whatever happens)

    def add(part):
        for s in part:
            R.register(s)

    def show():
        try:
            for _ in range(300):
                R.redact("a line that names no secret")  # every mask walks the secrets known then
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(secrets[i::8],)) for i in range(8)] + [threading.Thread(target=show) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    try:
        assert errors == []
        assert set(secrets) <= R.known()
        assert "pw-" not in R.redact(" ".join(secrets))
    finally:
        R.clear()
