"""Merkle tree math of the evidence log: RFC 9162 (RFC 6962) hashing, proofs and their checks.

Pure functions over bytes, no storage and no clock. The tree is the one of RFC 9162 §2.1.1:

* leaf hash  ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``;
* ``MTH(D[n])`` splits ``D`` at ``k``, the largest power of two smaller than ``n``.

Proofs are *generated* from a `SubtreeHashes` source: anything that knows its leaf count and
can return the hash of an *aligned* subtree ``[start, end)`` (``end - start`` a power of two,
``start`` a multiple of it, ``end <= size``). Such a subtree never changes once its last leaf
is in, so a persistent store can keep one row per subtree and answer every proof below in
O(log n) reads (each proof has at most ``2·log2(n)`` siblings, and each sibling takes at most
``log2(n)`` aligned subtrees, but only one sibling per proof is not itself aligned).
`MemoryTree` is the in-memory reference implementation.

Proofs are *verified* with the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
(consistency), after an up-front check of every input so that a malformed proof fails with
a message that says what was wrong. Every failure raises `ProofError`. The same algorithms
and test vectors are in transparency-dev/merkle (``proof/verify.go``) and sigstore-python
(``_internal/merkle.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Protocol

from crypto.errors import ProofError

HASH_SIZE = 32
"""SHA-256, the hash of RFC 6962 and of C2SP tlog-checkpoint."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() for the empty tree (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_MAX_SIZE = 2**64 - 1  # tree sizes are uint64 in RFC 9162 and in checkpoints


# -- hashing (RFC 9162 §2.1.1) --------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``: the 0x00 prefix keeps a leaf from posing as a node."""
    return hashlib.sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


# -- subtree hash sources -------------------------------------------------------------------


class SubtreeHashes(Protocol):
    """Where proofs come from: a log that can hash its aligned subtrees.

    ``subtree_hash(start, end)`` is only ever called with ``0 <= start < end <= size``,
    ``end - start`` a power of two and ``start`` a multiple of ``end - start``; for
    ``end - start == 1`` it is the leaf hash of leaf ``start``.
    """

    @property
    def size(self) -> int:
        """Number of leaves in the log."""
        ...

    def subtree_hash(self, start: int, end: int) -> bytes:
        """Hash of the perfect subtree over leaves ``[start, end)``."""
        ...


class MemoryTree:
    """An append-only log held in memory: the reference `SubtreeHashes` for tests and tools.

    It keeps every aligned subtree hash, level by level, exactly as a persistent store would
    keep them in a table keyed by ``(level, index)``: appending a leaf completes at most
    ``log2(n)`` subtrees, each hashed once from its two halves.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Append a leaf's data (hashed here); return its index."""
        return self.append_hash(leaf_hash(leaf))

    def append_hash(self, hashed_leaf: bytes) -> int:
        """Append an already computed leaf hash; return its index."""
        _check_hash(hashed_leaf, "leaf hash")
        index = self.size
        self._levels[0].append(bytes(hashed_leaf))
        level, i = 0, index
        while i & 1:  # a right child completes its parent
            below = self._levels[level]
            if len(self._levels) == level + 1:
                self._levels.append([])
            self._levels[level + 1].append(node_hash(below[i - 1], below[i]))
            level, i = level + 1, i >> 1
        return index

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise ProofError(f"leaf {index} is not in a log of {self.size} leaves")
        return self._levels[0][index]

    def subtree_hash(self, start: int, end: int) -> bytes:
        width = end - start
        if not (_is_power_of_two(width) and start % width == 0 and 0 <= start and end <= self.size):
            raise ProofError(f"[{start}, {end}) is not a complete subtree of a log of {self.size}")
        level = width.bit_length() - 1
        return self._levels[level][start >> level]


def _range_hash(tree: SubtreeHashes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a node of the RFC 9162 tree, from aligned subtrees only.

    Such a range starts at a multiple of the largest power of two below its width, so it
    decomposes, left to right, into aligned subtrees of strictly decreasing size (one per set
    bit of ``end - start``), which are then folded from the right.
    """
    parts: list[bytes] = []
    while not _is_power_of_two(end - start):
        k = _split(end - start)
        parts.append(tree.subtree_hash(start, start + k))
        start += k
    result = tree.subtree_hash(start, end)
    for left in reversed(parts):
        result = node_hash(left, result)
    return result


def root_hash(tree: SubtreeHashes, size: int | None = None) -> bytes:
    """MTH of the first ``size`` leaves (default: all of them); the empty tree included."""
    size = tree.size if size is None else size
    _check_size(size, "tree size", allow_zero=True)
    if size > tree.size:
        raise ProofError(f"tree size {size} is beyond the log's {tree.size} leaves")
    return EMPTY_ROOT if size == 0 else _range_hash(tree, 0, size)


def merkle_tree_hash(leaves: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of a list of leaf data (RFC 9162 §2.1.1)."""
    return root_hash(MemoryTree(leaves))


# -- proof generation (RFC 9162 §2.1.3.1, §2.1.4.1) -----------------------------------------


def inclusion_proof(tree: SubtreeHashes, index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, siblings ordered from the leaf upwards.

    ``size`` defaults to the whole log; an older size gives the proof against an older root.
    """
    size = tree.size if size is None else size
    _check_size(size, "tree size")
    _check_size(index, "leaf index", allow_zero=True)
    if size > tree.size:
        raise ProofError(f"tree size {size} is beyond the log's {tree.size} leaves")
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of {size} leaves")
    path: list[bytes] = []  # collected from the root down, returned leaf-first
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(_range_hash(tree, lo + k, hi))
            hi = lo + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(_range_hash(tree, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(tree: SubtreeHashes, size1: int, size2: int | None = None) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1, ordered from the bottom upwards.

    Requires ``0 < size1 <= size2``; equal sizes give the empty proof. From an empty tree
    there is nothing to prove (RFC 9162 §2.1.4 defines proofs for ``0 < m``), so size 0 is
    refused rather than answered with a proof that proves nothing.
    """
    size2 = tree.size if size2 is None else size2
    _check_size(size1, "first tree size")
    _check_size(size2, "second tree size")
    if size2 > tree.size:
        raise ProofError(f"tree size {size2} is beyond the log's {tree.size} leaves")
    if size1 > size2:
        raise ProofError(f"first tree size {size1} is larger than the second, {size2}")
    path: list[bytes] = []  # collected from the root down, returned bottom-first
    lo, hi, whole = 0, size2, True  # `whole` is SUBPROOF's b: still on the old tree's border
    while size1 - lo != hi - lo:
        k = _split(hi - lo)
        if size1 - lo <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            path.append(_range_hash(tree, lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            path.append(_range_hash(tree, lo, lo + k))
            lo, whole = lo + k, False
    if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        path.append(_range_hash(tree, lo, hi))
    path.reverse()
    return path


# -- proof verification (RFC 9162 §2.1.3.2, §2.1.4.2) ---------------------------------------


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash")


def _check_size(value: object, what: str, *, allow_zero: bool = False) -> None:
    # `type(...) is int` also refuses bools and floats that slipped in from JSON.
    if type(value) is not int or not (0 if allow_zero else 1) <= value <= _MAX_SIZE:
        low = "a non-negative" if allow_zero else "a positive"
        raise ProofError(f"{what} must be {low} 64-bit integer, got {value!r}")


def _check_path(path: Sequence[bytes], what: str) -> list[bytes]:
    if isinstance(path, bytes | str) or not isinstance(path, Sequence):
        raise ProofError(f"{what} must be a list of hashes")
    for i, h in enumerate(path):
        _check_hash(h, f"{what} element {i}")
    return list(path)


def _inclusion_path_length(index: int, size: int) -> int:
    """How many hashes PATH(index, D[size]) has: those below the point where the paths to
    ``index`` and to ``size - 1`` part, plus one per left sibling above it."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_path_length(size1: int, size2: int) -> int:
    """How many hashes PROOF(size1, D[size2]) has, for ``0 < size1 < size2``."""
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = ((size1 - 1) >> inner).bit_count()
    shift = (size1 & -size1).bit_length() - 1  # trailing zeros: the old tree's full subtree
    seed = 0 if size1 == 1 << shift else 1  # its hash is root1 itself when size1 is 2**shift
    return seed + inner - shift + border


def root_from_inclusion_proof(
    *, leaf_hash: bytes, index: int, size: int, path: Sequence[bytes]
) -> bytes:
    """The root that ``path`` proves ``leaf_hash`` to be leaf ``index`` of (RFC 9162 §2.1.3.2)."""
    _check_hash(leaf_hash, "leaf hash")
    _check_size(size, "tree size")
    _check_size(index, "leaf index", allow_zero=True)
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of {size} leaves")
    proof = _check_path(path, "inclusion path")
    want = _inclusion_path_length(index, size)
    if len(proof) != want:
        raise ProofError(
            f"inclusion path has {len(proof)} hashes; leaf {index} of {size} needs {want}"
        )
    fn, sn, r = index, size - 1, leaf_hash  # steps 2 and 3
    for p in proof:  # step 4
        if sn == 0:
            raise ProofError("inclusion path is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 5
        raise ProofError("inclusion path is shorter than the tree is high")
    return r


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Raise `ProofError` unless ``path`` proves leaf ``index`` of the tree of ``size`` leaves
    with root ``root`` has hash ``leaf_hash`` (RFC 9162 §2.1.3.2)."""
    _check_hash(root, "root hash")
    computed = root_from_inclusion_proof(leaf_hash=leaf_hash, index=index, size=size, path=path)
    if not hmac.compare_digest(computed, root):
        raise ProofError(f"inclusion path for leaf {index} does not lead to the root of {size}")


def verify_consistency(
    *, size1: int, size2: int, root1: bytes, root2: bytes, path: Sequence[bytes]
) -> None:
    """Raise `ProofError` unless ``path`` proves the tree of ``size2`` leaves and root
    ``root2`` is an append-only extension of the tree of ``size1`` leaves and root ``root1``
    (RFC 9162 §2.1.4.2).

    ``size1 == size2`` needs an empty path and equal roots. ``size1 == 0`` is refused: the
    empty tree is a prefix of every tree, so a "proof" from it would show nothing.
    """
    _check_hash(root1, "first root hash")
    _check_hash(root2, "second root hash")
    _check_size(size1, "first tree size")
    _check_size(size2, "second tree size")
    if size1 > size2:
        raise ProofError(f"first tree size {size1} is larger than the second, {size2}")
    proof = _check_path(path, "consistency path")
    if size1 == size2:
        if proof:
            raise ProofError("a consistency path between equal sizes must be empty")
        if not hmac.compare_digest(root1, root2):
            raise ProofError(f"two different roots for the same tree size {size1}")
        return
    want = _consistency_path_length(size1, size2)
    if len(proof) != want:
        raise ProofError(
            f"consistency path has {len(proof)} hashes; {size1} to {size2} needs {want}"
        )
    if _is_power_of_two(size1):  # step 2
        proof.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]  # step 5
    for c in proof[1:]:  # step 6
        if sn == 0:
            raise ProofError("consistency path is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 7
        raise ProofError("consistency path is shorter than the tree is high")
    if not hmac.compare_digest(fr, root1):
        raise ProofError(f"consistency path does not lead to the root of size {size1}")
    if not hmac.compare_digest(sr, root2):
        raise ProofError(f"consistency path does not lead to the root of size {size2}")
