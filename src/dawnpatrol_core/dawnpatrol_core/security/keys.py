"""Ed25519 keys of operators and of the fleet: generation, one-line public key text, key ids,
and key files (private keys 0600, refused when others can read them)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dawnpatrol_core.errors import SecurityError, path_text

PUBLIC_PREFIX = "ed25519:"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
#: Longest public key text accepted (the prefix and 44 base64 characters, with some slack).
_MAX_PUBLIC_TEXT = 128


def generate_private_key() -> Ed25519PrivateKey:
    """A new Ed25519 private key from the operating system's random source."""
    return Ed25519PrivateKey.generate()


def public_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a public key (of ``key`` itself or of a private key's public half)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """One-line text of a public key, ``ed25519:<base64 of 32 bytes>``, to paste or file."""
    return PUBLIC_PREFIX + base64.b64encode(public_bytes(key)).decode("ascii")


def key_id(public: bytes) -> str:
    """Short fingerprint of a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public).hexdigest()[:16]


def parse_public_key(text: object, source: str = "public key") -> bytes:
    """The raw 32 bytes of a public key given as ``ed25519:<base64>``; SecurityError otherwise."""
    expected = f"'{PUBLIC_PREFIX}' and the base64 of {PUBLIC_KEY_BYTES} bytes"
    if not isinstance(text, str) or len(text) > _MAX_PUBLIC_TEXT:
        raise SecurityError(f"{source}: got {str(text)[:60]!r}, expected {expected}")
    s = text.strip()
    if not s.startswith(PUBLIC_PREFIX):
        raise SecurityError(f"{source}: got {s[:60]!r}, expected {expected}")
    try:
        raw = base64.b64decode(s[len(PUBLIC_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise SecurityError(f"{source}: got {s[:60]!r}, expected {expected}") from None
    if len(raw) != PUBLIC_KEY_BYTES or base64.b64encode(raw).decode("ascii") != s[len(
            PUBLIC_PREFIX):]:
        raise SecurityError(f"{source}: got {s[:60]!r}, expected {expected} (canonical)")
    return raw


def verify_signature(public: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``public``'s Ed25519 signature of ``message``."""
    if len(public) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# -- key files ------------------------------------------------------------------------------------
def write_private_key(path: str | Path, key: Ed25519PrivateKey, passphrase: bytes | None = None,
                      overwrite: bool = False) -> Path:
    """Write ``key`` as PKCS#8 PEM to ``path`` with mode 0600 (encrypted when ``passphrase``),
    and its public text to ``path`` with suffix ``.pub``. Refuses to overwrite unless asked."""
    p = Path(path)
    name = path_text(p)
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase
        else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    p.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(p, flags, 0o600)
    except FileExistsError:
        raise SecurityError(f"{name}: a key file exists already (keep it, or remove it first)"
                            ) from None
    except OSError as exc:
        raise SecurityError(f"{name}: cannot write key file: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        fh.write(pem)
    pub = p.with_suffix(".pub")
    pub.write_text(public_key_text(key) + "\n", encoding="ascii")
    return p


def load_private_key(path: str | Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """Read an Ed25519 private key file written by :func:`write_private_key`. A file that its
    group or others may read is refused (as ssh does): a key anyone can copy is no identity."""
    p = Path(path)
    name = path_text(p)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        why = exc.strerror if isinstance(exc, OSError) else "not a file name"
        raise SecurityError(f"{name}: cannot read key file: {why}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecurityError(
            f"{name}: field 'mode': got {stat.S_IMODE(mode):04o}, expected 0600 "
            f"(chmod 600 {name})")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise SecurityError(f"{name}: the key is encrypted: set DAWNPATROL_KEY_PASSPHRASE"
                            if passphrase is None else f"{name}: not an encrypted key file"
                            ) from None
    except ValueError:
        raise SecurityError(f"{name}: not a readable PEM private key (or a wrong passphrase)"
                            ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SecurityError(f"{name}: field 'key type': got {type(key).__name__}, expected Ed25519")
    return key


def load_public_key(path: str | Path) -> bytes:
    """Raw public key from a ``.pub`` file holding one ``ed25519:...`` line."""
    p = Path(path)
    name = path_text(p)
    try:
        text = p.read_text(encoding="ascii")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, a NUL byte in the name
        why = (exc.strerror if isinstance(exc, OSError) else "not ASCII text"
               if isinstance(exc, UnicodeDecodeError) else "not a file name")
        raise SecurityError(f"{name}: cannot read public key: {why}") from None
    return parse_public_key(text.strip(), name)
