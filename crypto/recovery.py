"""The node's recovery key: 32 random bytes an admin writes down once, at init.

It is the seed of an X25519 key pair to which the node's intake key (and later every
node-level key) is sealed, so that losing every passphrase does not lose the node's data
(invariant 2, "keys follow people"). Printed as RFC 4648 base32 in groups of four with a
2-byte BLAKE2b checksum, so a copying mistake is caught before it is used; or split into
SLIP-39 shares (Trezor's reference implementation) that trustees keep, k of n of which
give it back.

`RecoveryKey` holds the seed; it leaves this package only as the printed text or as
shares, never as bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import nacl.utils
import shamir_mnemonic  # type: ignore[import-untyped]

from crypto.errors import FormatError
from crypto.keys import BoxPublicKey, BoxSecretKey

SEED_BYTES = 32
_CHECK_BYTES = 2


def _check(seed: bytes) -> bytes:
    return hashlib.blake2b(seed, digest_size=_CHECK_BYTES, person=b"backup-recovery").digest()


class RecoveryKey:
    """A node's recovery key (its seed, in memory only)."""

    __slots__ = ("_seed",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise FormatError("a recovery seed is 32 bytes")
        self._seed = bytes(seed)

    @classmethod
    def generate(cls) -> RecoveryKey:
        return cls(nacl.utils.random(SEED_BYTES))

    @classmethod
    def parse(cls, text: str) -> RecoveryKey:
        """The key from its printed text (any letter case, any separators; 0, 1 and 8 read
        as O, I and B); `FormatError` for anything else or a wrong checksum."""
        cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
        cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
        padded = cleaned + "=" * (-len(cleaned) % 8)
        try:
            raw = base64.b32decode(padded)
        except ValueError:
            raise FormatError("not a recovery key") from None
        if len(raw) != SEED_BYTES + _CHECK_BYTES:
            raise FormatError("not a recovery key")
        seed, check = raw[:SEED_BYTES], raw[SEED_BYTES:]
        if not hmac.compare_digest(_check(seed), check):
            raise FormatError("recovery key checksum")
        return cls(seed)

    def text(self) -> str:
        """The printed form, shown once at init and never stored."""
        text = base64.b32encode(self._seed + _check(self._seed)).decode("ascii").rstrip("=")
        return "-".join(text[i : i + 4] for i in range(0, len(text), 4))

    def _box_key(self) -> BoxSecretKey:
        """The X25519 key derived from the seed (domain-separated hash, then seed)."""
        return BoxSecretKey.from_seed(
            hashlib.blake2b(self._seed, digest_size=32, person=b"backup-recov-box").digest())

    @property
    def public_key(self) -> BoxPublicKey:
        """What node keys are sealed to."""
        return self._box_key().public_key

    def open_box_key(self, sealed: bytes) -> BoxSecretKey:
        """A node key sealed to `public_key`; `DecryptionError` otherwise."""
        return self._box_key().open_box_key(sealed)

    def split(self, threshold: int, shares: int) -> list[str]:
        """SLIP-39 mnemonics of one group: any `threshold` of the `shares` give the key."""
        groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], self._seed)
        return [str(words) for words in groups[0]]

    @classmethod
    def combine(cls, mnemonics: list[str]) -> RecoveryKey:
        """The key the shares give; `FormatError` (saying why) if they do not give one."""
        try:
            seed = shamir_mnemonic.combine_mnemonics(mnemonics)
        except (shamir_mnemonic.MnemonicError, ValueError) as exc:
            raise FormatError(f"the shares do not combine: {exc}") from None
        if len(seed) != SEED_BYTES:
            raise FormatError("these shares do not hold a BackUp recovery key")
        return cls(seed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecoveryKey) and hmac.compare_digest(self._seed, other._seed)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return "RecoveryKey(<secret>)"


def shares_needed(mnemonic: str) -> int:
    """How many shares the split that `mnemonic` belongs to needs; `FormatError` if it is
    not a share."""
    try:
        return int(shamir_mnemonic.Share.from_mnemonic(mnemonic).member_threshold)
    except shamir_mnemonic.MnemonicError as exc:
        raise FormatError(str(exc)) from None
