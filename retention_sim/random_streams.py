"""Named, policy-independent random streams from one ``numpy.random.SeedSequence``.

Each random source of the model (arrivals, traits, purchases, spend, each churn cause, responses,
service, ...) gets its own generator, spawned from the replication's seed by a fixed key derived
from the stream's *name*. Adding a stream never shifts another, and two policies run with the same
seed draw the same numbers from every stream they share (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams"]


class Streams:
    """A family of independent generators keyed by name.

    Parameters
    ----------
    seed
        The replication's seed (a non-negative integer).

    Examples
    --------
    >>> s = Streams(7)
    >>> a = s["purchase"].random(3)
    >>> b = Streams(7)["purchase"].random(3)
    >>> bool((a == b).all())
    True
    """

    def __init__(self, seed: int):
        if int(seed) < 0:
            raise ValueError("seed must be non-negative")
        self.seed = int(seed)
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(key,))
            gen = np.random.Generator(np.random.PCG64(ss))
            self._gens[name] = gen
        return gen
