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
from typing import Final


def real_now_ms() -> int:
    """The real time, in epoch milliseconds."""
    return time.time_ns() // 1_000_000


# Random ids are made in batches: one os.urandom call and a few slice assignments in C for
# _BATCH ids cost about a tenth of making each alone (a bulk of new entities draws two ids
# for each, the entity's and its event's).
_BATCH: Final = 256
# bytes.translate tables setting the version (4) and RFC 4122 variant bits of a byte.
_VERSION_4: Final = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT: Final = bytes((b & 0x3F) | 0x80 for b in range(256))
# Where each of the 32 hex digits of an id goes in its 8-4-4-4-12 form.
_DIGIT_AT: Final = tuple(d + (d >= 8) + (d >= 12) + (d >= 16) + (d >= 20) for d in range(32))
# Made, not yet given. list.pop and list.extend are atomic, so threads may share it.
_POOL: list[str] = []


def random_uuids(n: int) -> list[str]:
    """n ids as str(uuid.uuid4()) makes them (random version 4 UUIDs), made together."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = raw[6::16].translate(_VERSION_4)
    raw[8::16] = raw[8::16].translate(_VARIANT)
    digits = raw.hex().encode("ascii")
    out = bytearray(b"-" * (36 * n))
    for digit, at in enumerate(_DIGIT_AT):
        out[at::36] = digits[digit::32]
    text = out.decode("ascii")
    return [text[start : start + 36] for start in range(0, 36 * n, 36)]


def random_uuid() -> str:
    """str(uuid.uuid4()): the next of a batch made by random_uuids."""
    try:
        return _POOL.pop()
    except IndexError:
        _POOL.extend(random_uuids(_BATCH))
        return _POOL.pop()


def _forget_pool() -> None:
    # A forked process must not give the ids its parent made but has not given yet.
    _POOL.clear()


os.register_at_fork(after_in_child=_forget_pool)


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
