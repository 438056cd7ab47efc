"""API key secrets: generation and the hash under which they are stored."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "bk_"


def generate_key() -> str:
    """A new random API key (256 bits of entropy)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key. Keys are high-entropy, so one SHA-256 suffices."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, safe to show so a user can tell keys apart."""
    return key[: len(KEY_PREFIX) + 6]
