"""SM2 signatures (GB/T 32918, with SM3 and the ZA of GM/T 0003) of the audit anchors.

The keys come from the settings AUDIT_ANCHOR_SM2_PRIVATE_KEY / AUDIT_ANCHOR_SM2_PUBLIC_KEY (hex), or from the
files the _FILE variants name. The private key signs each new anchor (valley.audit.anchors); the public key,
which is all a verifier needs, checks them. `generate_keypair` makes a pair (`manage.py generate_anchor_key`).

The arithmetic is snowland-smx's (import name `pysmx`), pure Python: about 10 ms a signature, 7 ms a check.
A signature is r||s as 128 hex digits over the message's bytes, e = SM3(ZA || message) with the default user
id of GM/T 0009 ("1234567812345678"): the standard construction, not one of the library's shortcuts.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "sm2-sm3"
USER_ID = b"1234567812345678"  # GM/T 0009's default distinguishing identifier
_PRIVATE = re.compile(r"[0-9a-f]{64}")
_PUBLIC = re.compile(r"(04)?[0-9a-f]{128}")  # x||y, with or without the uncompressed point's 04 prefix


@dataclass(frozen=True)
class KeyPair:
    private: str  # 64 hex digits
    public: str  # 128 hex digits, x||y


def _setting(name: str) -> str:
    """The key's hex from the setting, or from the file the _FILE setting names; "" when neither is set."""
    value = (getattr(settings, name, "") or "").strip()
    path = (getattr(settings, f"{name}_FILE", "") or "").strip()
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {error}") from None
    return value.lower()


def private_key() -> str | None:
    value = _setting("AUDIT_ANCHOR_SM2_PRIVATE_KEY")
    if not value:
        return None
    if not _PRIVATE.fullmatch(value) or not 0 < int(value, 16) < _order():
        raise ImproperlyConfigured("AUDIT_ANCHOR_SM2_PRIVATE_KEY must be an SM2 private key: 64 hex digits.")
    return value


_derived: dict[str, str] = {}


def public_key() -> str | None:
    """The configured public key, else the one derived from the configured private key, else None."""
    value = _setting("AUDIT_ANCHOR_SM2_PUBLIC_KEY")
    if value:
        if not _PUBLIC.fullmatch(value):
            raise ImproperlyConfigured(
                "AUDIT_ANCHOR_SM2_PUBLIC_KEY must be an SM2 public key: 128 hex digits (x||y), or 130 starting with 04."
            )
        return value[-128:]
    private = private_key()
    return None if private is None else public_of(private)


def public_of(private: str) -> str:
    """The public key of a private key (one scalar multiplication, a few milliseconds; remembered)."""
    if private not in _derived:
        _derived[private] = _public_of(private)
    return _derived[private]


def key_id(public: str) -> str:
    """A short name of a public key (the first 16 hex digits of its SHA-256), so a file says which key signed it."""
    return hashlib.sha256(bytes.fromhex(public)).hexdigest()[:16]


def sign(message: bytes, private: str) -> str:
    from pysmx.SM2 import Sign

    while True:
        nonce = secrets.randbelow(_order() - 1) + 1
        signature = Sign(message, private, f"{nonce:064x}", 64, uid=USER_ID)
        if signature:  # None for the rare nonce the algorithm rejects: draw another
            return signature.hex()


def verify(message: bytes, signature: str, public: str) -> bool:
    """Whether `signature` (128 hex digits) is the SM2 signature of `message` under `public`. Never raises on a
    malformed signature: that is simply not a valid one."""
    from pysmx.SM2 import Verify

    if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-f]{128}", signature):
        return False
    r, s = int(signature[:64], 16), int(signature[64:], 16)
    if not (0 < r < _order() and 0 < s < _order()):
        return False
    return bool(Verify(signature, message, public, 64, uid=USER_ID))


def generate_keypair() -> KeyPair:
    private = f"{secrets.randbelow(_order() - 1) + 1:064x}"
    return KeyPair(private=private, public=_public_of(private))


def _public_of(private: str) -> str:
    from pysmx.SM2 import kG, sm2_G

    return kG(int(private, 16), sm2_G, 64)


def _order() -> int:
    from pysmx.SM2 import sm2_N

    return sm2_N
