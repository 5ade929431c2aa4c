"""Stable orderings of a column: ``np.argsort(values, kind="stable")`` by a compiled radix sort.

The RFM segments and the value deciles rank every customer present on each refresh; a stable
comparison sort of 100,000 floats takes about 8 ms, of a million about 120 ms. A least-
significant-digit radix sort on the values' bits is stable by construction and linear: each
float64 becomes an unsigned key that orders as the float does (the sign bit flipped for
positive numbers, every bit for negative ones; ``-0.0`` counted as ``0.0`` and every NaN as
one key above everything, as NumPy sorts them), then 16 bits a pass. Integers are keyed
likewise (the sign bit flipped). The NumPy sort stays as the reference when the kernels are
off, and the test checks the two orders are the same.
"""

from __future__ import annotations

import numpy as np

from .kernels import compiled, njit

__all__ = ["stable_argsort"]

_BITS = 16
_DIGITS = 1 << _BITS
_SIGN = np.uint64(1 << 63)


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """The order of ``np.argsort(values, kind="stable")`` (int64), for a float or integer
    column of any size; by the radix sort when the kernels are on.

    Parameters
    ----------
    values
        One-dimensional floats or integers (NaNs last, as NumPy sorts them).
    """
    values = np.asarray(values)
    if not compiled() or values.size < 2048 or values.ndim != 1:
        return np.argsort(values, kind="stable")
    if values.dtype.kind == "f":
        x = values.astype(np.float64)
        x[x == 0.0] = 0.0  # -0.0 equals 0.0: one key for both
        bits = x.view(np.uint64)
        keys = np.where(bits & _SIGN, ~bits, bits | _SIGN)
        keys[np.isnan(x)] = np.uint64(0xFFFFFFFFFFFFFFFF)  # every NaN last, in their order
    elif values.dtype.kind in "iu":
        if values.dtype.kind == "u" and values.dtype.itemsize == 8:
            keys = values.astype(np.uint64)
        else:
            keys = values.astype(np.int64).view(np.uint64) ^ _SIGN
    else:
        return np.argsort(values, kind="stable")
    return _radix_order(np.ascontiguousarray(keys))


@njit
def _radix_order(keys):
    """Indices that sort ``keys`` (uint64) stably: LSD radix, 16 bits a pass, passes whose
    digit is the same for every key skipped."""
    n = keys.size
    order = np.arange(n)
    other = np.empty(n, dtype=np.int64)
    counts = np.zeros(_DIGITS, dtype=np.int64)
    shift = np.uint64(0)
    mask = np.uint64(_DIGITS - 1)
    while shift < np.uint64(64):
        counts[:] = 0
        for i in range(n):
            counts[(keys[i] >> shift) & mask] += 1
        if counts.max() == n:  # one digit for all: the pass would not move anything
            shift += np.uint64(_BITS)
            continue
        total = 0
        for d in range(_DIGITS):
            c = counts[d]
            counts[d] = total
            total += c
        for j in range(n):
            i = order[j]
            d = (keys[i] >> shift) & mask
            other[counts[d]] = i
            counts[d] += 1
        order, other = other, order
        shift += np.uint64(_BITS)
    return order
