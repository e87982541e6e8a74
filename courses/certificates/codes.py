"""Verification codes people can read aloud, type on a phone and get right.

Ten characters from an alphabet without look-alikes (no 0/O, 1/I/L). The alphabet has 31
symbols, a prime, so a weighted sum modulo 31 with distinct weights 10…1 catches every single
wrong character and every swap of two neighbouring characters: the last character is chosen so
that the weighted sum of all ten is 0 modulo 31.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE = len(ALPHABET)  # 31, prime
LENGTH = 10
_VALUES = {char: index for index, char in enumerate(ALPHABET)}
#: What people may type between characters: spaces, dashes, dots.
_SEPARATORS = re.compile(r"[\s\-‐‑–—.·_]+")


class CodeError(ValueError):
    """A typed code that cannot be a certificate's code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: "length", "characters" or "check".
        self.reason = reason


def _weighted_sum(chars: str) -> int:
    # Weights LENGTH, LENGTH-1, …: distinct and non-zero modulo 31.
    return sum((LENGTH - i) * _VALUES[c] for i, c in enumerate(chars)) % BASE


def check_character(body: str) -> str:
    """The check character that completes the nine characters of `body`."""
    partial = _weighted_sum(body)  # weights 10…2 over the nine characters
    # The check character has weight 1: partial + v ≡ 0 (mod 31).
    return ALPHABET[(-partial) % BASE]


def new_code() -> str:
    """A fresh random code (nine random characters, about 44 bits, plus the check character)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    return body + check_character(body)


def is_valid(code: str) -> bool:
    """Whether `code` (already normalised) has the right length, characters and check."""
    return len(code) == LENGTH and all(c in _VALUES for c in code) and _weighted_sum(code) == 0


def normalize(typed: str) -> str:
    """A typed code in canonical form, or CodeError saying what is wrong with it."""
    code = _SEPARATORS.sub("", typed or "").upper()
    if len(code) != LENGTH:
        raise CodeError("length")
    if any(c not in _VALUES for c in code):
        raise CodeError("characters")
    if _weighted_sum(code) != 0:
        raise CodeError("check")
    return code


def format_code(code: str) -> str:
    """The code as people see it: "XXXXX-XXXXX"."""
    return f"{code[:5]}-{code[5:]}"
