"""Ed25519 keys, DSSE PAE and signatures."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from autocoder.backends.supply_chain.provenance import ProvenanceError, read_envelope
from autocoder.backends.supply_chain.signing import (
    Ed25519PrivateKey,
    SigningKeyError,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    pae,
    sign,
    verify_signature,
)

# The test vector of the DSSE protocol (protocol.md, "Test Vectors"): an ECDSA P-256 signature
# over the PAE of "hello world". It verifies only if our PAE is byte-exact.
DSSE_TYPE = "http://example.com/HelloWorld"
DSSE_X = 46950820868899156662930047687818585632848591499744589407958293238635476079160
DSSE_Y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
DSSE_SIG = (
    "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="
)


def test_pae_matches_the_dsse_example() -> None:
    assert (
        pae(DSSE_TYPE, b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_verifies_the_dsse_test_vector_signature() -> None:
    public = ec.EllipticCurvePublicNumbers(DSSE_X, DSSE_Y, ec.SECP256R1()).public_key()
    raw = base64.b64decode(DSSE_SIG)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, pae(DSSE_TYPE, b"hello world"), ec.ECDSA(hashes.SHA256()))


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("t/é", "ü".encode()) == "DSSEv1 4 t/é 2 ü".encode()
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_sign_and_verify_round_trip(tmp_path: Path) -> None:
    private_pem, public_pem = generate_keypair()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    (tmp_path / "k.key").write_bytes(private_pem)
    (tmp_path / "k.pub").write_bytes(public_pem)
    private = load_private_key(tmp_path / "k.key")
    public = load_public_key(tmp_path / "k.pub")
    message = pae("application/vnd.in-toto+json", b'{"a":1}')
    signature = sign(message, private)
    assert verify_signature(message, signature, public)
    assert not verify_signature(message + b" ", signature, public)
    assert not verify_signature(message, signature, Ed25519PrivateKey.generate().public_key())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id(public) == key_id(private) == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"not a key\n", "not a PEM"),
        (
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            "not an Ed25519 private key",
        ),
        (
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            ),
            "is encrypted",
        ),
    ],
)
def test_bad_private_key_is_a_clear_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "signing.key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SigningKeyError, match=message):
        load_private_key(path)


def test_private_key_is_not_a_public_key(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_bytes(generate_keypair()[0])
    with pytest.raises(SigningKeyError, match="not a PEM public key"):
        load_public_key(path)


def test_envelope_accepts_url_safe_base64() -> None:
    body = b'{"_type":"https://in-toto.io/Statement/v1","x":"??>>"}'
    encoded = base64.urlsafe_b64encode(body).decode().rstrip("=")
    assert "-" in encoded or "_" in encoded
    line = {"payloadType": "application/vnd.in-toto+json", "payload": encoded, "signatures": []}
    assert read_envelope(json.dumps(line)).payload == body


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not json",
        '{"payload":"e30="}',
        '{"payloadType":"application/json","payload":"e30=","signatures":[]}',
        '{"payloadType":"application/vnd.in-toto+json","payload":"***","signatures":[]}',
    ],
)
def test_malformed_envelope_is_rejected(line: str) -> None:
    with pytest.raises(ProvenanceError):
        read_envelope(line)
