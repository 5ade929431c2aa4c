"""Named, policy-independent random streams from one ``numpy.random.SeedSequence``.

Each random source of the model (arrivals, traits, purchases, spend, each churn cause, responses,
service, ...) gets its own generator, spawned from the replication's seed by a fixed key derived
from the stream's *name*. Adding a stream never shifts another, and two policies run with the same
seed draw the same numbers from every stream they share (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

from .kernels import njit

__all__ = [
    "Streams",
    "counter_draw",
    "counter_key",
    "counter_start",
    "counter_uniform",
    "counter_uniforms",
    "counter_uniforms_compiled",
    "replication_seed",
    "stream_keys",
]


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


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijective, well-mixed hash of 64-bit integers."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def counter_uniform(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform numbers in [0, 1) that depend only on (seed, stream, keys).

    A counter-based generator: the number for customer *i* on day *d* (and any other keys) is
    the same whatever else happened in the run, so two policies that send customer *i* a message
    on day *d* on the same channel draw the same response luck (common random numbers for
    sparse, policy-dependent events).
    """
    with np.errstate(over="ignore"):
        h = _mix(np.uint64(seed) * _GOLD + np.uint64(zlib.crc32(stream.encode("utf-8"))))
        for k in keys:
            h = _mix(h ^ (np.asarray(k).astype(np.uint64) + _GOLD))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def counter_uniforms(
    seed: int, streams: tuple[str, ...], *keys: np.ndarray | int
) -> list[np.ndarray]:
    """Several independent :func:`counter_uniform` families over the same keys, hashing the
    keys once (one extra mixing round per stream)."""
    with np.errstate(over="ignore"):
        h = _mix(np.uint64(seed) * _GOLD)
        for k in keys:
            h = _mix(h ^ (np.asarray(k).astype(np.uint64) + _GOLD))
        out = []
        for name in streams:
            g = _mix(h ^ np.uint64(zlib.crc32(name.encode("utf-8"))))
            out.append((g >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0))
    return out


# ---------------------------------------------------------------- the hash inside kernels
# counter_uniforms one message at a time, for compiled kernels: every operand is a uint64
# (numba would turn uint64 mixed with an int64 into a float64), the products wrap as NumPy's
_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit
def _mix64(x):
    """:func:`_mix` on one uint64."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


@njit
def counter_start(seed: int) -> int:
    """The hash of the seed, before any key (a kernel helper).

    Parameters
    ----------
    seed
        The replication's seed, taken as a uint64.

    Returns
    -------
    int
        The uint64 state :func:`counter_key` hashes the keys into.
    """
    return _mix64(np.uint64(seed) * _GOLD)


@njit
def counter_key(h: int, k: int) -> int:
    """The hash ``h`` with one more key ``k`` (a kernel helper).

    Parameters
    ----------
    h
        The uint64 state so far (:func:`counter_start`, then one call per key).
    k
        The key (customer, day, channel, message of the day), taken as a uint64 as NumPy
        casts it.

    Returns
    -------
    int
        The new uint64 state.
    """
    return _mix64(h ^ (np.uint64(k) + _GOLD))


@njit
def counter_draw(h: int, stream: int) -> float:
    """The uniform of one stream for the keys hashed in ``h`` (a kernel helper): what
    :func:`counter_uniforms` gives, bit for bit.

    Parameters
    ----------
    h
        The uint64 state after every key.
    stream
        The stream's key (:func:`stream_keys`).

    Returns
    -------
    float
        A uniform in [0, 1).
    """
    g = _mix64(h ^ np.uint64(stream))
    return np.float64(g >> np.uint64(11)) * _UNIT


def stream_keys(streams: tuple[str, ...]) -> np.ndarray:
    """The streams' keys (the CRC-32 of their names) as the kernels take them.

    Parameters
    ----------
    streams
        The streams' names.

    Returns
    -------
    numpy.ndarray
        One uint64 per stream.
    """
    return np.array([zlib.crc32(s.encode("utf-8")) for s in streams], dtype=np.uint64)


@njit
def _uniforms_kernel(seed, streams, keys, out):
    h0 = counter_start(seed)
    for i in range(keys.shape[1]):
        h = h0
        for j in range(keys.shape[0]):
            h = counter_key(h, keys[j, i])
        for s in range(streams.size):
            out[s, i] = counter_draw(h, streams[s])


def counter_uniforms_compiled(
    seed: int, streams: tuple[str, ...], *keys: np.ndarray | int
) -> list[np.ndarray]:
    """:func:`counter_uniforms` by the kernels' hash (:func:`counter_key`, :func:`counter_draw`):
    the same numbers, bit for bit (for the test of the hash).

    Parameters
    ----------
    seed, streams, keys
        As :func:`counter_uniforms`.

    Returns
    -------
    list of numpy.ndarray
        One flat array per stream over the broadcast keys.
    """
    cast = [np.asarray(k).astype(np.uint64) for k in keys]
    shape = np.broadcast_shapes(*(c.shape for c in cast))
    flat = np.stack([np.broadcast_to(c, shape).ravel() for c in cast])
    out = np.empty((len(streams), flat.shape[1]))
    _uniforms_kernel(np.uint64(seed), stream_keys(streams), flat, out)
    return list(out)


def replication_seed(seed: int, replication: int) -> int:
    """The integer seed of replication ``replication`` in a study seeded with ``seed``.

    Parameters
    ----------
    seed
        The study's seed (non-negative).
    replication
        The replication index ``k`` (0, 1, 2, ...).

    Returns
    -------
    int
        ``int(SeedSequence([seed, replication]).generate_state(1)[0])``: a 32-bit integer, the
        same for every policy, different (with overwhelming probability) for every ``k``.
    """
    if seed < 0 or replication < 0:
        raise ValueError("seed and replication must be non-negative")
    return int(np.random.SeedSequence([int(seed), int(replication)]).generate_state(1)[0])
