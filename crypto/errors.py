"""One error tree for the crypto package: callers map these at their edge (to HTTP
statuses, CLI messages), never this package."""


class CryptoError(Exception):
    """Base of every error raised by this package."""


class DecryptionError(CryptoError):
    """A ciphertext, wrap or sealed box did not open.

    Deliberately opaque: a wrong key, a wrong passphrase, a flipped bit and a truncated
    blob all look the same to the caller, so nothing leaks about which one it was.
    """

    def __init__(self) -> None:
        super().__init__("could not decrypt")


class SignatureError(CryptoError):
    """A signature did not verify."""

    def __init__(self) -> None:
        super().__init__("signature did not verify")


class FormatError(CryptoError):
    """Input is not in a format this package produces (e.g. a receipt with bad digits)."""


class ProofError(CryptoError):
    """A Merkle inclusion or consistency proof is malformed or does not verify.

    One type for every failure (RFC 9162 §2.1.3.2, §2.1.4.2): a wrong path length, an index
    outside the tree, an empty tree, a hash of the wrong size or a root that does not match.
    The message says which check failed and holds only public values (sizes, indices, counts).
    """
