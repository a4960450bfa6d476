"""Fitting: parallel fits stay single-threaded, and separable histories stop early."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from training.fit import parallel_map


def _openmp_threads(_: int) -> list[int]:
    """Return the thread count of every OpenMP runtime as seen from the calling thread."""
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]


def test_parallel_fits_run_one_openmp_thread_each() -> None:
    # Two fits of two busy-waiting OpenMP threads each on a 2-core machine ran several times
    # slower; OpenMP's limit is per thread, so it must be set in the pool's threads.
    seen = parallel_map(_openmp_threads, [0, 1, 2])
    assert all(threads for threads in seen), "scikit-learn's OpenMP runtime is not loaded"
    assert seen == [[1] * len(seen[0])] * 3
