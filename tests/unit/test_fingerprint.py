"""borgconf.fingerprint: a plan file's fingerprint of a secret (issue 9)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib

import pytest

from borgconf import fingerprint as F

SECRETS = ["hunter2", "correct horse battery staple", "pässwörd-✓", "x" * 300, "zq!"]


def _recoverable_forms(secret: str, salt: str) -> list[str]:
    """Everything a careless implementation might leave in a plan file."""
    raw = secret.encode()
    forms = [secret, raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
             base64.b32encode(raw).decode(), base64.b85encode(raw).decode(), str(zlib.crc32(raw))]
    for data in (raw, salt.encode() + raw, raw + salt.encode(), bytes.fromhex(salt) + raw, raw + bytes.fromhex(salt)):
        for algo in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "blake2b", "blake2s"):
            digest = hashlib.new(algo, data).digest()
            forms += [digest.hex(), base64.b64encode(digest).decode().rstrip("="), base64.urlsafe_b64encode(digest).decode().rstrip("=")]
    # an unsalted or fixed-salt scrypt is a fast-to-attack table too
    forms.append(hashlib.scrypt(raw, salt=b"", n=F.N, r=F.R, p=F.P, maxmem=64 << 20, dklen=32).hex())
    return forms


def test_salt_is_fresh_and_128_bits():
    salts = {F.new_salt() for _ in range(200)}
    assert len(salts) == 200
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in salts)


@pytest.mark.parametrize("secret", SECRETS)
def test_same_secret_and_salt_give_the_same_fingerprint_and_it_matches(secret):
    salt = F.new_salt()
    fp = F.fingerprint(secret, salt)
    assert fp == F.fingerprint(secret, salt)
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[0-9a-f]{64}", fp)
    assert F.matches(secret, salt, fp)
    assert not F.matches(secret + " ", salt, fp)
    assert not F.matches(secret[:-1], salt, fp)


def test_different_salt_secret_or_context_give_different_fingerprints():
    s1, s2 = F.new_salt(), F.new_salt()
    fps = {
        F.fingerprint("hunter2", s1),
        F.fingerprint("hunter2", s2),
        F.fingerprint("hunter3", s1),
        F.fingerprint("hunter2", s1, context="masterauth"),
        F.fingerprint("hunter2", s1, context="requirepass"),
    }
    assert len(fps) == 5
    fp = F.fingerprint("hunter2", s1, context="masterauth")
    assert F.matches("hunter2", s1, fp, context="masterauth")
    assert not F.matches("hunter2", s1, fp, context="requirepass")
    assert not F.matches("hunter2", s2, fp, context="masterauth")


@pytest.mark.parametrize("secret", SECRETS)
def test_no_plaintext_encoding_or_fast_hash_of_the_secret_in_the_output(secret):
    salt = F.new_salt()
    fp = F.fingerprint(secret, salt, context="requirepass")
    for form in _recoverable_forms(secret, salt):
        if len(form) >= 6 or form == secret:
            assert form not in fp, form
            assert form.lower() not in fp.lower(), form
    assert salt not in fp  # the salt is stored once, by the plan, not repeated per secret


def test_matches_refuses_hostile_fingerprints_without_computing_them():
    salt = F.new_salt()
    good = F.fingerprint("s3cret", salt)
    digest = good.rsplit("$", 1)[1]
    # parameters that would cost gigabytes, or no work at all
    for fp in (f"scrypt$1073741824$8$1${digest}", f"scrypt$2$1$1${digest}", f"scrypt$16384$8$64${digest}",
               "", "scrypt", good.upper(), good + "00", good[:-2], f"sha256$16384$8$1${digest}", None, 123):
        assert F.matches("s3cret", salt, fp) is False  # type: ignore[arg-type]
    for bad_salt in ("", "00", salt.upper(), salt + "0", "g" * 32, None):
        assert F.matches("s3cret", bad_salt, good) is False  # type: ignore[arg-type]
        with pytest.raises((ValueError, TypeError)):
            F.fingerprint("s3cret", bad_salt)  # type: ignore[arg-type]


def test_fingerprint_is_memory_hard_scrypt_with_the_documented_parameters():
    salt = F.new_salt()
    fp = F.fingerprint("s3cret", salt, context="masterauth")
    expected = hashlib.scrypt(b"s3cret", salt=f"borgconf-fingerprint-v1\0{salt}\0masterauth".encode(), n=2**14, r=8, p=1,
                              maxmem=64 << 20, dklen=32)
    assert fp == "scrypt$16384$8$1$" + binascii.hexlify(expected).decode()
    assert 128 * F.R * F.N == 16 * 1024 * 1024  # 16 MiB per guess
