"""Signed checkpoints: an Ed25519 signature over a tenant's tree size and root."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from baton.domain.audit.canonical import canonical_json, format_timestamp, parse_timestamp
from baton.domain.audit.errors import CanonicalJSONError, MalformedAuditData
from baton.domain.audit.merkle import HASH_SIZE

CHECKPOINT_DOMAIN = b"baton-audit-checkpoint/v1\n"
"""Prefix of every signed message, so a checkpoint signature means nothing elsewhere."""

SEED_SIZE = 32
SIGNATURE_SIZE = 64

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A signed statement that a tenant's log had ``size`` entries with Merkle root ``root``.

    Attributes:
        tenant_id: Owner of the log.
        size: Number of entries covered.
        root: Merkle root of the first ``size`` entries.
        created_at: Timezone-aware signing time.
        key_id: :func:`key_id_for` of the signing key.
        signature: Ed25519 signature over :meth:`signed_message`.
    """

    tenant_id: str
    size: int
    root: bytes
    created_at: datetime
    key_id: str
    signature: bytes

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"checkpoint size must be a non-negative int, got {self.size!r}")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("checkpoint created_at must be timezone-aware")

    def signed_message(self) -> bytes:
        """Return the exact bytes the signature covers."""
        return _message(self.tenant_id, self.size, self.root, self.created_at, self.key_id)

    def to_json(self) -> dict[str, object]:
        """Return an exportable object: hex root, base64 signature, RFC 3339 time."""
        return {
            "tenant_id": self.tenant_id,
            "size": self.size,
            "root": self.root.hex(),
            "created_at": format_timestamp(self.created_at),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: object) -> Checkpoint:
        """Parse an object written by :meth:`to_json`.

        Args:
            data: The decoded JSON object.

        Returns:
            The checkpoint (its signature is not checked here).

        Raises:
            MalformedAuditData: A field is missing, has the wrong type or a bad encoding.
        """
        if not isinstance(data, Mapping):
            raise MalformedAuditData("checkpoint must be a JSON object")
        tenant_id = _field(data, "tenant_id", str)
        size = _field(data, "size", int)
        if isinstance(size, bool) or size < 0:
            raise MalformedAuditData("checkpoint 'size' must be a non-negative integer")
        root_hex = _field(data, "root", str)
        try:
            root = bytes.fromhex(root_hex)
        except ValueError as exc:
            raise MalformedAuditData("checkpoint 'root' is not hex") from exc
        if len(root) != HASH_SIZE or root_hex != root.hex():
            raise MalformedAuditData("checkpoint 'root' must be 64 lowercase hex digits")
        signature = _b64(_field(data, "signature", str), "signature")
        if len(signature) != SIGNATURE_SIZE:
            raise MalformedAuditData(f"checkpoint 'signature' must be {SIGNATURE_SIZE} bytes")
        return cls(
            tenant_id=tenant_id,
            size=size,
            root=root,
            created_at=parse_timestamp(_field(data, "created_at", str)),
            key_id=_field(data, "key_id", str),
            signature=signature,
        )


def _message(tenant_id: str, size: int, root: bytes, created_at: datetime, key_id: str) -> bytes:
    body = {
        "tenant": tenant_id,
        "size": size,
        "root": root.hex(),
        "time": format_timestamp(created_at),
        "key_id": key_id,
    }
    return CHECKPOINT_DOMAIN + canonical_json(body)


def _field(data: Mapping[object, object], name: str, kind: type[_T]) -> _T:
    value = data.get(name)
    if not isinstance(value, kind):
        raise MalformedAuditData(f"checkpoint field {name!r} must be a {kind.__name__}")
    return value


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedAuditData(f"{what} is not valid base64") from exc


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """Return the first 16 hex digits of SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Load a raw Ed25519 public key given as base64 (as :attr:`CheckpointSigner.public_key_b64`).

    Raises:
        MalformedAuditData: The text is not base64 of 32 bytes.
    """
    raw = _b64(text, "public key")
    if len(raw) != SEED_SIZE:
        raise MalformedAuditData("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 private key."""

    __slots__ = ("_key", "_key_id")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a private key.

        Args:
            private_key: The Ed25519 signing key.
        """
        self._key = private_key
        self._key_id = key_id_for(private_key.public_key())

    @classmethod
    def generate(cls) -> CheckpointSigner:
        """Return a signer with a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> CheckpointSigner:
        """Return the signer for a raw 32-byte Ed25519 seed.

        Raises:
            MalformedAuditData: The seed is not 32 bytes.
        """
        if len(seed) != SEED_SIZE:
            raise MalformedAuditData(f"an Ed25519 seed is {SEED_SIZE} bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_env_value(cls, value: str) -> CheckpointSigner:
        """Load the key from ``BATON_AUDIT_SIGNING_KEY``: base64 of the 32-byte seed, or PEM.

        Raises:
            MalformedAuditData: The value is neither (the message never echoes it).
        """
        text = value.strip()
        if text.startswith("-----BEGIN"):
            return cls.from_pem(text.encode("ascii", "replace"))
        return cls.from_seed(_b64(text, "audit signing key"))

    @classmethod
    def from_pem(cls, pem: bytes) -> CheckpointSigner:
        """Load an unencrypted PKCS#8 PEM Ed25519 private key.

        Raises:
            MalformedAuditData: The PEM is invalid or holds another kind of key.
        """
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise MalformedAuditData("audit signing key is not a valid PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedAuditData("audit signing key must be an Ed25519 key")
        return cls(key)

    def to_pem(self) -> bytes:
        """Return the key as unencrypted PKCS#8 PEM."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def to_env_value(self) -> str:
        """Return the base64 seed accepted by :meth:`from_env_value`."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw).decode("ascii")

    @property
    def key_id(self) -> str:
        """Short identifier of the public key, stored in every checkpoint."""
        return self._key_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The verification key."""
        return self._key.public_key()

    @property
    def public_key_b64(self) -> str:
        """The raw public key in base64, for publishing to verifiers."""
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def sign(self, tenant_id: str, size: int, root: bytes, created_at: datetime) -> Checkpoint:
        """Sign the statement that ``tenant_id``'s log had ``size`` entries with ``root``.

        Raises:
            ValueError: The root is not 32 bytes, the size is negative or the time naive.
        """
        if len(root) != HASH_SIZE:
            raise ValueError("checkpoint root must be 32 bytes")
        message = _message(tenant_id, size, root, created_at, self._key_id)
        return Checkpoint(
            tenant_id=tenant_id,
            size=size,
            root=root,
            created_at=created_at,
            key_id=self._key_id,
            signature=self._key.sign(message),
        )

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self._key_id!r})"


def verify_checkpoint(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """Return True if ``public_key`` signed this checkpoint; never raises.

    The checkpoint's ``key_id`` must also name that key, so a checkpoint cannot claim one
    key while being signed by another.
    """
    if checkpoint.key_id != key_id_for(public_key):
        return False
    try:
        public_key.verify(checkpoint.signature, checkpoint.signed_message())
    except (InvalidSignature, CanonicalJSONError, ValueError, TypeError):
        return False
    return True
