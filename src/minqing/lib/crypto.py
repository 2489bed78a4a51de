"""Encryption of personal data at rest (身份证号, phone): AES-256-GCM under a key ring, and
keyed hashes (HMAC-SHA256) for exact lookup and uniqueness without the clear value.

Keys come from ``MINQING_DATA_KEYS`` ("2:<base64>,1:<base64>", the first is current) and
``MINQING_HASH_KEY`` (base64), or else from ``var/data_keys.json``, generated once. Each
ciphertext starts with the id of its key, so old rows stay readable after a new key is added;
``minqing rotatekeys`` re-encrypts them (see docs/personal-data.md).
"""

import base64
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_NONCE = 12


@dataclass(frozen=True)
class KeyRing:
    current: int
    ciphers: dict[int, AESGCM]
    hash_key: bytes
    hasher: "hmac.HMAC"  # HMAC-SHA256 keyed with hash_key, copied for each hash


def _b64(value: str, what: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        raise ImproperlyConfigured(f"{what} is not valid base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured(f"{what} must be 32 bytes, is {len(key)}")
    return key


def _from_env() -> tuple[list[tuple[int, bytes]], bytes] | None:
    keys, hash_key = os.environ.get("MINQING_DATA_KEYS"), os.environ.get("MINQING_HASH_KEY")
    if not keys and not hash_key:
        return None
    if not (keys and hash_key):
        raise ImproperlyConfigured("set both MINQING_DATA_KEYS and MINQING_HASH_KEY, or neither")
    ring = []
    for item in keys.split(","):
        kid, _, value = item.strip().partition(":")
        if not kid.isdigit() or not 0 < int(kid) < 256:
            raise ImproperlyConfigured(f"MINQING_DATA_KEYS: key id {kid!r} must be 1-255")
        ring.append((int(kid), _b64(value, f"MINQING_DATA_KEYS key {kid}")))
    return ring, _b64(hash_key, "MINQING_HASH_KEY")


def _from_file() -> tuple[list[tuple[int, bytes]], bytes]:
    path = settings.VAR_DIR / "data_keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "current": 1,
            "keys": {"1": base64.b64encode(secrets.token_bytes(32)).decode()},
            "hash_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
    data = json.loads(path.read_text())
    current = int(data["current"])
    ring = [(current, _b64(data["keys"][str(current)], f"{path} key {current}"))]
    ring += [
        (int(k), _b64(v, f"{path} key {k}")) for k, v in data["keys"].items() if int(k) != current
    ]
    return ring, _b64(data["hash_key"], f"{path} hash_key")


@cache
def keyring() -> KeyRing:
    ring, hash_key = _from_env() or _from_file()
    return KeyRing(
        current=ring[0][0],
        ciphers={kid: AESGCM(key) for kid, key in ring},
        hash_key=hash_key,
        hasher=hmac.new(hash_key, digestmod="sha256"),
    )


def encrypt(text: str) -> bytes:
    ring = keyring()
    nonce = os.urandom(_NONCE)
    return (
        bytes([ring.current])
        + nonce
        + ring.ciphers[ring.current].encrypt(nonce, text.encode(), None)
    )


def decrypt(blob: bytes | memoryview) -> str:
    blob = bytes(blob)
    ring = keyring()
    cipher = ring.ciphers.get(blob[0])
    if cipher is None:
        raise ImproperlyConfigured(
            f"personal data is encrypted with key {blob[0]}, which is not configured"
        )
    return cipher.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], None).decode()


def key_id(blob: bytes | memoryview) -> int:
    return bytes(blob[:1])[0]


def keyed_hash(text: str, purpose: str) -> str:
    """32 hex characters identifying ``text`` for one purpose ("id", "id-tail", "phone"...);
    useless without the hash key, so a dump gives no way to test a guessed number."""
    # A copy of the keyed HMAC skips the key's set-up: a third of the cost, and an import
    # hashes 1.5M numbers.
    hasher = keyring().hasher.copy()
    hasher.update(f"{purpose}:{text}".encode())
    return hasher.hexdigest()[:32]
