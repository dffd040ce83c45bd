"""Fingerprints of secrets for saved plans (issue 9): pure, stdlib only.

A saved plan travels as a CI artifact, so anyone who reads it may try to
guess the secrets it refers to. A plan therefore holds no plaintext, no
encoding and no fast hash (sha*, md5, salted or not) of a secret: a GPU tries
billions of sha256 per second, which exhausts any password a human or a
`.env` file is likely to hold. What it may hold, so that apply can tell "the
secret changed since the plan" (and refuse), is this fingerprint:

* a **per-plan random salt** (:func:`new_salt`, 128 bits) -- nothing can be
  precomputed, and one guess tests one secret of one plan only; the optional
  ``context`` (the parameter's name) keeps two equal secrets of one plan
  (masterauth = requirepass, as is common) from showing as equal;
* **scrypt** (``hashlib.scrypt``, memory-hard) with N=2**14, r=8, p=1: every
  guess needs 128*r*N = 16 MiB of memory and ~50 ms of one core (measured
  ~50-110 ms on the CI machines). That makes a guess ~10^6 times dearer than
  one sha256, and the 16 MiB per guess takes away the GPU/ASIC advantage
  (thousands of cores, little memory each). Higher settings (N=2**15: 32 MiB,
  ~100-250 ms per secret) would make plan/apply of a spec with several
  secrets noticeably slower for little gain against secrets that are random
  anyway; N=2**14 is also what the scrypt paper suggests for interactive use.

The output spells the parameters (``scrypt$16384$8$1$<hex>``) so that they can
be raised later; :func:`matches` accepts only parameters it knows, so a
hostile plan file cannot make apply spend gigabytes (N=2**30) on one check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

N, R, P = 2**14, 8, 1
DKLEN = 32
SCHEME = "scrypt"
_MAXMEM = 64 * 1024 * 1024  # hashlib's default (32 MiB) is too tight for 16 MiB + overhead
_SALT_RE = re.compile(r"[0-9a-f]{32}")
_FP_RE = re.compile(r"scrypt\$(\d{1,10})\$(\d{1,3})\$(\d{1,3})\$([0-9a-f]{64})")
KNOWN_PARAMS = {(N, R, P)}  # what matches() will compute; anything else is refused


def new_salt() -> str:
    """A fresh random salt for one plan: 32 lowercase hex digits (128 bits)."""
    return secrets.token_hex(16)


def _check_salt(salt: str) -> None:
    if not isinstance(salt, str) or not _SALT_RE.fullmatch(salt):
        raise ValueError("fingerprint salt must be 32 lowercase hex digits (from new_salt())")


def _derive(secret: str, salt: str, context: str, n: int, r: int, p: int) -> str:
    if not isinstance(secret, str):
        raise TypeError("secret must be a str")
    key = hashlib.scrypt(
        secret.encode("utf-8", "surrogatepass"),
        salt=f"borgconf-fingerprint-v1\0{salt}\0{context}".encode("utf-8", "surrogatepass"),
        n=n,
        r=r,
        p=p,
        maxmem=_MAXMEM,
        dklen=DKLEN,
    )
    return key.hex()


def fingerprint(secret: str, salt: str, context: str = "") -> str:
    """``scrypt$N$r$p$<64 hex>`` for ``secret`` under ``salt`` (and ``context``,
    e.g. the parameter name). Same inputs, same output; nothing else in it."""
    _check_salt(salt)
    return f"{SCHEME}${N}${R}${P}${_derive(secret, salt, context, N, R, P)}"


def matches(secret: str, salt: str, fp: str, context: str = "") -> bool:
    """Whether ``secret`` has fingerprint ``fp`` (constant-time comparison).

    A malformed ``fp``, a bad salt, or parameters this version does not use
    answer False without computing anything expensive."""
    if not isinstance(fp, str) or not isinstance(salt, str) or not _SALT_RE.fullmatch(salt):
        return False
    m = _FP_RE.fullmatch(fp)
    if m is None:
        return False
    n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if (n, r, p) not in KNOWN_PARAMS:
        return False
    got = _derive(secret, salt, context, n, r, p)
    return hmac.compare_digest(got.encode(), m.group(4).encode())


__all__ = ["new_salt", "fingerprint", "matches", "N", "R", "P"]
