"""Deterministic identifiers in the styles of Stripe (`cus_...`) and Postgres (uuid)."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class IdFactory:
    """Same seed, same sequence of ids; ids of different prefixes never collide."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counters: dict[str, int] = defaultdict(int)

    def _digest(self, prefix: str) -> bytes:
        self._counters[prefix] += 1
        key = f"{self._seed}:{prefix}:{self._counters[prefix]}".encode()
        return hashlib.blake2b(key, digest_size=16).digest()

    def stripe(self, prefix: str) -> str:
        """A Stripe-style id such as `cus_4fGh2Kx9LmQ01z`."""
        n = int.from_bytes(self._digest(prefix), "big")
        chars = []
        for _ in range(16):
            n, r = divmod(n, 62)
            chars.append(_ALPHABET[r])
        return f"{prefix}_{''.join(chars)}"

    def uuid(self, kind: str) -> str:
        """A UUID4-shaped id, as Supabase tables use."""
        return str(uuid.UUID(bytes=self._digest(kind), version=4))
