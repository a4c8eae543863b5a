"""Small dense numeric work runs with every BLAS/OpenMP thread pool bounded to one thread.

A fit of 5 parameters to a few hundred points gains nothing from threads; scipy's bundled OpenBLAS spins up its
own pool in the L-BFGS-B polish, and on a busy machine the spinning threads make fits 10–30x slower (measured:
docs/benchmarks.md). :func:`one_thread` limits every pool loaded in the process (numpy's and scipy's OpenBLAS,
MKL, OpenMP) through threadpoolctl while the block runs, and restores them after. The library scan is done once;
entering and leaving costs microseconds, so it wraps whole fits, bootstrap chunks and worker tasks.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

__all__ = ["one_thread"]

_CONTROLLER = None


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, so the scan below finds it)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with BLAS/OpenMP pools limited to one thread (re-entrant)."""
    with _controller().limit(limits=1):
        yield
