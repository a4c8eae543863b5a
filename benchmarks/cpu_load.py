"""CPU load for benchmarks: processes that spin until stopped, so a benchmark can measure idle and busy in one run.

    with cpu_load(2):          # two processes spinning, one per core of a 2-core machine
        ...                    # the same measurement as idle

The processes are started by the benchmark itself and always stopped (also on an exception or Ctrl-C), so the
ratio busy/idle comes from one run on one machine state.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time


def _spin() -> None:  # pragma: no cover - runs in the load processes
    x = 0
    while True:
        x = (x + 1) & 0xFFFF


@contextlib.contextmanager
def cpu_load(processes: int = 2):
    """Run ``processes`` busy-looping processes for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_spin, daemon=True) for _ in range(processes)]
    for w in workers:
        w.start()
    time.sleep(0.3)  # let them reach the scheduler's steady state
    try:
        yield
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.join(5)


def machine_load() -> str:
    """The 1-minute load average (``/proc/loadavg``), '?' where there is none."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def describe() -> str:
    """CPU count and BLAS setting, for the header of a benchmark's output."""
    return (f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
            f"load before {machine_load()}")
