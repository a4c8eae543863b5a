"""Running many independent tasks: in this process, in joblib worker processes, or on a Dask cluster.

Results come back in task order whatever the backend, so a seeded computation gives the same numbers
sequentially, with joblib and with Dask. A progress bar (tqdm) is shown on an interactive terminal unless
``progress=False``; it never appears in non-TTY output (logs, CI, pipes).
"""

from __future__ import annotations

import numbers
import os
import sys
from contextlib import nullcontext
from typing import Callable, Sequence

from .exceptions import MissingDependencyError, ScalingLawsError

__all__ = ["run_tasks", "show_progress", "thread_map", "usable_cores", "valid_n_jobs", "worker_count"]


def valid_n_jobs(n_jobs) -> bool:
    """Whether ``n_jobs`` is a number of worker processes: a whole number >= 1, or -1 for every core."""
    return isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool) and (n_jobs >= 1 or n_jobs == -1)


def worker_count(n_jobs: int) -> int:
    """How many processes ``n_jobs`` starts (-1: one per core)."""
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one, else every core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def thread_map(function: Callable, items: Sequence, threads: int) -> list:
    """``[function(item) for item in items]`` in order, on ``threads`` threads when that is more than one (for
    numpy work on large arrays, which releases the GIL)."""
    if threads <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(function, items))


def show_progress(progress: bool | None) -> bool:
    """``progress`` if given, else whether stderr is an interactive terminal."""
    if progress is not None:
        return bool(progress)
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _dask_backend(scheduler):
    """A joblib backend context on the Dask cluster at ``scheduler`` (an address or a distributed.Client)."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError("running on a Dask cluster needs dask.distributed; install it with: "
                                     "pip install 'scalinglaws[dask]'") from None
    from joblib import parallel_config

    if isinstance(scheduler, Client):  # the user's client: used, not closed
        return nullcontext(scheduler), parallel_config(backend="dask", wait_for_workers_timeout=60, client=scheduler)
    try:
        client = Client(scheduler, timeout="5s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ScalingLawsError(f"cannot reach the Dask scheduler at {scheduler!r} ({err}); check the address") from None
    return client, parallel_config(backend="dask", wait_for_workers_timeout=60, client=client)


def run_tasks(function: Callable, tasks: Sequence[tuple], *, n_jobs: int = 1, scheduler=None,
              progress: bool | None = None, description: str = "") -> list:
    """``[function(*task) for task in tasks]``, possibly in parallel, in task order.

    ``n_jobs``: joblib worker processes (-1: all cores); ``scheduler``: a Dask scheduler address or
    ``distributed.Client`` (then ``n_jobs`` is ignored and the cluster's workers are used).
    """
    if show_progress(progress):  # tqdm only when a bar is shown (in a notebook its import alone may warn)
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=description, leave=False)
    else:
        bar = _NoBar()
    try:
        if scheduler is None and n_jobs == 1:
            results = []
            for task in tasks:
                results.append(function(*task))
                bar.update()
            return results
        from joblib import Parallel, delayed

        client, backend = _dask_backend(scheduler) if scheduler is not None else (nullcontext(), nullcontext())
        with client, backend:
            jobs = -1 if scheduler is not None else n_jobs
            stream = Parallel(n_jobs=jobs, return_as="generator")(delayed(function)(*task) for task in tasks)
            results = []
            for result in stream:
                results.append(result)
                bar.update()
        return results
    finally:
        bar.close()


class _NoBar:
    """The part of a tqdm bar that run_tasks uses, doing nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass
