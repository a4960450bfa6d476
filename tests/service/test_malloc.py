"""The server keeps freed memory for the next request instead of faulting it in again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from service.malloc import keep_freed_memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

CHILD = """
import resource, sys
from service.malloc import keep_freed_memory
assert keep_freed_memory(int(sys.argv[1])) is (int(sys.argv[1]) > 0)
def work():
    # what a batch allocates, then frees: many lists and arrays of tens of KB, a few of MBs
    return [bytearray(size) for size in [60_000] * 40 + [300_000, 1_300_000]]
for _ in range(5):
    work()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    work()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(keep_bytes: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(keep_bytes)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


@glibc
@pytest.mark.parametrize("keep_mb", [16, 64, 1024])  # 1024: above glibc's own mmap limit
def test_a_request_reuses_the_memory_the_last_one_freed(keep_mb: int) -> None:
    default, kept = _page_faults(0), _page_faults(keep_mb * 1024 * 1024)
    assert default > 1000  # each round faults its megabytes in afresh
    assert kept < default / 20


def test_keeping_nothing_leaves_the_c_library_as_it_is() -> None:
    assert keep_freed_memory(0) is False
