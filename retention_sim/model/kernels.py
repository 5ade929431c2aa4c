"""Compiled daily kernels: numba's ``njit`` as the mechanisms use it, and the switch to their
NumPy references.

Each mechanism that has a compiled kernel keeps a readable NumPy reference of the same step
beside it, in its own module; a test checks the two agree on random states, to the last bit
(where a step needs ``exp``, NumPy computes it before the kernel: its SIMD routine differs from
the C library's in the last bit of about one value in twenty). The kernels are compiled with ``cache=True`` (the machine code is kept
in ``__pycache__`` beside the module, so only the first process after an install compiles,
about 10 s for all of them) and without ``fastmath`` (IEEE arithmetic in the written order, no
fused multiply-adds). A kernel may call another (a helper such as the counter hash of
:mod:`.random_streams`); numba's disk cache then keys the caller on its own module's source
only, so editing a helper in another module needs the callers' ``__pycache__`` entries removed.

The kernels run by default (numba is a dependency); ``RETENTION_SIM_KERNELS=numpy`` in the
environment runs the NumPy references instead (read when a run is assembled; worker processes
inherit it). Where numba is missing or cannot be imported the references run.
docs/performance.md lists the kernels and what they save.

numba's disk cache checks a kernel against its own file only, and freezes the module-level
constants it reads (the stage and cause codes of :mod:`retention_sim.vocabulary`, the helpers
of other modules) when it compiles: after editing :mod:`retention_sim.vocabulary` or a helper,
remove the ``__pycache__/*.nbi``/``*.nbc`` files of the package (an install from a fresh copy
has none).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["njit", "compiled", "cache_stats", "HAVE_NUMBA", "ENV", "DEFAULT"]

F = TypeVar("F", bound=Callable[..., Any])

#: The environment variable that picks the implementation: ``numba`` (default) or ``numpy``.
ENV = "RETENTION_SIM_KERNELS"
#: The implementation used when the environment does not say.
DEFAULT = "numba"

# numba is imported on a kernel's first call, not here: a process that never runs one (a
# command refusing its input, a report's kernel) does not pay its half-second import
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

_KERNELS: list[_Kernel] = []  # every kernel, for cache_stats


class _Kernel:
    """A kernel compiled on its first call (numba imported then), cached on disk."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.py_func = function
        self.dispatcher: Any = None
        self.__name__ = function.__name__
        self.__doc__ = function.__doc__

    def _dispatch(self) -> Any:
        if self.dispatcher is None:
            import numba

            self.dispatcher = numba.njit(cache=True, nogil=True, error_model="numpy")(self.py_func)
        return self.dispatcher

    def __call__(self, *args: Any) -> Any:
        return (self.dispatcher or self._dispatch())(*args)

    @property
    def _numba_type_(self) -> Any:
        """What numba sees when another kernel calls this one: its dispatcher's type."""
        return self._dispatch()._numba_type_


def njit(function: F) -> F:
    """Compile ``function`` in nopython mode, cached on disk, no fastmath, NumPy's float errors
    (x / 0 gives inf or NaN, as in the references), on its first call (as is without numba)."""
    if not HAVE_NUMBA:  # pragma: no cover
        return function
    kernel = _Kernel(function)
    _KERNELS.append(kernel)
    return kernel  # type: ignore[return-value]


def cache_stats() -> dict[str, dict[str, int]]:
    """Per kernel called in this process: signatures loaded from the disk cache and compiled.

    Returns
    -------
    dict
        ``{"module.function": {"loaded": n, "compiled": m}}`` for every kernel called.
    """
    out = {}
    for k in _KERNELS:
        d = k.dispatcher
        if d is not None and d.signatures:
            name = f"{k.py_func.__module__}.{k.py_func.__name__}"
            out[name] = {
                "loaded": int(sum(d.stats.cache_hits.values())),
                "compiled": int(sum(d.stats.cache_misses.values())),
            }
    return out


def compiled() -> bool:
    """Whether runs assembled now use the compiled kernels (numba present and switched on).

    Raises
    ------
    ValueError
        When the environment variable holds something other than ``numba`` or ``numpy``.
    """
    value = os.environ.get(ENV, DEFAULT).strip().lower() or DEFAULT
    if value not in ("numba", "numpy"):
        raise ValueError(f"{ENV} must be 'numba' or 'numpy', not {value!r}")
    return value == "numba" and _numba_imports()


_IMPORTS: list[bool] = []  # whether numba imports in this process (tried once)


def _numba_imports() -> bool:
    """Whether numba is installed and imports (a broken install runs the references)."""
    if not _IMPORTS:
        ok = HAVE_NUMBA
        if ok:
            try:
                import numba  # noqa: F401
            except Exception:  # noqa: BLE001 - any failure to import: the references run
                ok = False
        _IMPORTS.append(ok)
    return _IMPORTS[0]
