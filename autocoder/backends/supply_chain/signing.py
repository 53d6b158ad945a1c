"""Ed25519 keys and DSSE signatures for the provenance envelope.

Keys are PEM files: the private key in unencrypted PKCS#8, the public key as
SubjectPublicKeyInfo. A key id is the sha256 (hex) of the raw 32-byte public key.
Signatures cover the DSSE pre-authentication encoding (:func:`pae`), never the bare payload.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "SigningKeyError",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "pae",
    "sign",
    "verify_signature",
]


class SigningKeyError(ValueError):
    """A key file is missing, unreadable, or not an Ed25519 key of the expected kind."""


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 <len> <type> <len> <body>``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body)


def generate_keypair() -> tuple[bytes, bytes]:
    """A new key pair as ``(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)``."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, public_pem(private.public_key())


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """sha256 (hex) of the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an unencrypted PKCS#8 PEM Ed25519 private key."""
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # a passphrase-protected key
        raise SigningKeyError(f"{path} is encrypted; an unencrypted key is needed") from exc
    except ValueError as exc:
        raise SigningKeyError(
            f"{path} is not a PEM private key (PKCS#8, as `autocoder keygen` writes)"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a SubjectPublicKeyInfo PEM Ed25519 public key."""
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError(
            f"{path} is not a PEM public key (SubjectPublicKeyInfo, as `autocoder keygen` writes)"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def sign(message: bytes, key: Ed25519PrivateKey) -> bytes:
    """Sign ``message`` (a :func:`pae` encoding)."""
    return key.sign(message)


def verify_signature(message: bytes, signature: bytes, key: Ed25519PublicKey) -> bool:
    """Whether ``signature`` over ``message`` was made by ``key``."""
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
