"""Platform-independent 64-bit hashing: every generated value derives from these."""

from __future__ import annotations

import functools
import hashlib

MAX_U64 = (1 << 64) - 1
M64 = MAX_U64
GOLDEN = 0x9E3779B97F4A7C15


def mix(x: int) -> int:
    """splitmix64 finaliser: cheap, well distributed, identical on every platform."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def hash_of(*parts: int) -> int:
    acc = 0
    for part in parts:
        acc = mix(acc ^ (part & M64))
    return acc


@functools.lru_cache(maxsize=256)
def salt_of(seed: int, tailnet: str) -> int:
    # Python's hash() of a str changes per process, so derive the salt from a digest.
    digest = hashlib.blake2b(tailnet.encode(), digest_size=8).digest()
    return hash_of(int.from_bytes(digest, "big"), seed)


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def stable_id(prefix: str, h: int, length: int = 7) -> str:
    chars = []
    for _ in range(length):
        h, r = divmod(h, 62)
        chars.append(_ALNUM[r])
    return prefix + "".join(chars) + "CNTRL"
