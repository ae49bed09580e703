"""Where times and new ids come from: the real clock and uuid4, or, so that tests can assert
them exactly, a clock an admin sets (PUT /api/__emulator/clock) and ids from a seeded
generator (Settings.id_seed).

Both belong to one application, so to one process: with several workers, each has its own.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterable


def real_now_ms() -> int:
    """The real time, in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def random_uuid() -> str:
    """str(uuid.uuid4()), made without a UUID object: a third of the cost, and a bulk of
    new entities draws two ids for each (the entity's, its event's)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Clock:
    """Epoch milliseconds: the real time, the real time moved ahead, or a time set and held
    (frozen) until it is set or moved again."""

    __slots__ = ("_frozen", "_offset")

    def __init__(self) -> None:
        self._frozen: int | None = None
        self._offset = 0

    def now_ms(self) -> int:
        if self._frozen is not None:
            return self._frozen
        return time.time_ns() // 1_000_000 + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def set(self, now_ms: int) -> None:
        """Hold the clock at `now_ms`."""
        self._frozen = now_ms
        self._offset = 0

    def advance(self, by_ms: int) -> None:
        """Move the clock ahead: a held time moves and stays held; the real time runs on
        `by_ms` ahead of itself."""
        if self._frozen is not None:
            self._frozen += by_ms
        else:
            self._offset += by_ms

    def restore(self) -> None:
        """Back to the real time."""
        self._frozen = None
        self._offset = 0


class Ids:
    """New entity, job and event ids: random (uuid4), or with a seed, version 4 UUIDs in the
    same sequence at every start, so that the same requests get the same ids.

    A seeded sequence starts over with each start, reset or import (`restart`); the ids
    already stored are skipped, so an id is never given twice, and the sequence still
    depends only on the seed and the state it starts from.
    """

    __slots__ = ("_random", "_seed", "_taken")

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._random = None if seed is None else random.Random(seed)
        self._taken: frozenset[str] = frozenset()

    @property
    def seeded(self) -> bool:
        return self._seed is not None

    def new(self) -> str:
        if self._random is None:
            return random_uuid()
        while True:
            made = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            if made not in self._taken:
                return made

    def restart(self, taken: Iterable[str] = ()) -> None:
        """Start the seeded sequence over, skipping the ids in `taken` (those stored)."""
        if self._seed is not None:
            self._random = random.Random(self._seed)
            self._taken = frozenset(taken)


# What code outside a request uses: random ids.
RANDOM_IDS = Ids()
