"""glibc's malloc told to keep a batch's memory for the next batch, instead of returning it.

By default glibc serves each allocation from a few hundred KB up (a batch's result text, its
NumPy columns) with a fresh mmap, and gives memory at the top of its heap back to the kernel
as soon as it is freed. Every 1,000-supplier batch then touched about 800 new pages: the
kernel faulted and zeroed each, about 1.5 ms of system time, a sixth of the batch's CPU
(bench/bench_batch_api.py counts them). Allocations under ``keep / 4`` (at most 32 MB, glibc's
limit) now come from the heap, and up to ``keep`` bytes freed at its top stay for the next
request: at the default 64 MB, a batch of 10,000 (answers of up to 16 MB) too. Only on glibc
(Linux); elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""mallopt parameters, from glibc's malloc.h"""
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
"""glibc refuses a larger mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)"""


def keep_freed_memory(keep_bytes: int) -> bool:
    """Ask glibc to keep up to ``keep_bytes`` of freed memory; return whether it agreed.

    0 leaves glibc's defaults.
    """
    if keep_bytes <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):  # not glibc (musl has no mallopt to find)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok: bool = mallopt(M_MMAP_THRESHOLD, min(keep_bytes // 4, MMAP_THRESHOLD_MAX)) == 1
    ok = mallopt(M_TRIM_THRESHOLD, min(keep_bytes, 2**31 - 1)) == 1 and ok  # an int in C
    if not ok:
        log.warning("the C library refused to keep freed memory (mallopt); left as it is")
    return ok
