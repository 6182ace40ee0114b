"""Encryption at rest (BRD 9(2)2, SOC 8.1): confidential files and backups are sealed with Fernet (AES-128-CBC
plus HMAC-SHA256, so altered bytes are refused) under the key in PORTAL_FILE_KEY.

A server database needs the key: the portal refuses to start without it. The embedded store, whose data dies with
the process, makes a key per start when none is given. Several keys may be given, comma-separated: the first seals,
every one opens, so a key can be replaced without losing the files sealed under the old one.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_HELP = ("Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'")


class KeyProblem(RuntimeError):
    """PORTAL_FILE_KEY is missing or malformed; the portal does not start."""


class CannotOpen(ValueError):
    """Sealed bytes that the configured key does not open: another key, or altered bytes."""


class _State:
    ring: MultiFernet | None = None
    from_config = False


def keyring(config) -> tuple[MultiFernet, bool]:
    """The keys of `config` (FILE_KEY), and whether they were given rather than made for this start."""
    keys = [key.strip() for key in (config.get("FILE_KEY") or "").split(",") if key.strip()]
    if not keys:
        if config.get("PORTAL_STORE") != "embedded":
            raise KeyProblem("PORTAL_FILE_KEY is not set: a server database needs it to encrypt confidential "
                             "files and backups (BRD 9(2)2). " + KEY_HELP)
        return MultiFernet([Fernet(Fernet.generate_key())]), False
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys]), True
    except ValueError:
        raise KeyProblem("PORTAL_FILE_KEY is not a valid key (32 url-safe base64-encoded bytes). " + KEY_HELP) from None


def configure(config) -> None:
    """Take the key from the app's config (done by create_app); raises KeyProblem."""
    _State.ring, _State.from_config = keyring(config)


def has_configured_key() -> bool:
    """True when the key came from the configuration (backups are then sealed too)."""
    return _State.from_config


def _ring() -> MultiFernet:
    if _State.ring is None:
        raise KeyProblem("Encryption is not configured; create the app first.")
    return _State.ring


def seal(data: bytes) -> bytes:
    """Encrypt and authenticate `data` (the raw Fernet token, 57 bytes longer than `data` plus padding)."""
    return base64.urlsafe_b64decode(_ring().encrypt(data))


def open_sealed(blob: bytes) -> bytes:
    """The bytes `seal` was given; raises CannotOpen for another key or altered bytes."""
    try:
        return _ring().decrypt(base64.urlsafe_b64encode(bytes(blob)))
    except InvalidToken:
        raise CannotOpen("The data cannot be decrypted with PORTAL_FILE_KEY: another key, or altered data.") from None
