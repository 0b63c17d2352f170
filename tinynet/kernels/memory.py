"""Keeping freed memory for the next training step (glibc's ``malloc``, on Linux).

A training step allocates the same large arrays every step (layer outputs, gradients,
temporaries of a few MiB each) and frees them again. By default glibc's ``malloc``
gives blocks above a threshold (128 KiB, rising with use up to 32 MiB) their own
``mmap`` pages and hands them back on ``free``, and it trims free memory at the top of
its heap back to the operating system. Each page handed back returns, next step, as a
page fault and a page of zeros written by the kernel. On this project's 2-core virtual
machine that was 1,060 page faults per step of cnn at batch 32, and the step took
15-22% longer than with the memory kept (median ms of three processes each: 18.6,
17.2, 20.3 against 15.3, 14.4, 17.6).

:func:`keep_freed_memory` raises both thresholds with ``mallopt``: blocks up to 32 MiB
come from the heap, and up to 256 MiB of free heap stays in the process for the next
step. The price is memory the process keeps after it has freed it (at most 256 MiB
more than it uses). It is a setting of the whole process, so a PyTorch model trained
in the same process gains as much (``python -m bench`` times PyTorch both ways).
Nothing changes where ``malloc`` is not glibc's, when the user tuned it already
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES`` in the
environment), or with ``TINYNET_KEEP_FREED_MEMORY=0``. With another allocator loaded
through ``LD_PRELOAD`` (jemalloc, tcmalloc) the call still reaches glibc's ``mallopt``
and changes nothing, although :func:`keep_freed_memory` reports True.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: ``mallopt`` parameters, from glibc's ``<malloc.h>``.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Blocks up to this size come from the heap (glibc's largest allowed value on 64 bits).
MMAP_THRESHOLD = 32 << 20
#: Free memory at the top of the heap kept for reuse instead of being given back.
TRIM_THRESHOLD = 256 << 20
#: Environment variables that set the two thresholds themselves: the user's value wins.
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
#: Every variable with which a user tunes glibc's malloc (``GLIBC_TUNABLES`` counts when
#: it names a ``glibc.malloc.`` tunable).
USER_SETTINGS = (*MALLOC_VARIABLES, "GLIBC_TUNABLES")
#: Set to 0 to leave malloc as it is.
SWITCH = "TINYNET_KEEP_FREED_MEMORY"


def _user_tuned_malloc() -> bool:
    """Whether the environment already tunes glibc's malloc (see USER_SETTINGS)."""
    if any(name in os.environ for name in MALLOC_VARIABLES):
        return True
    return "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; True if this process now keeps freed memory."""
    if os.environ.get(SWITCH, "1").strip() == "0":
        return False
    if not sys.platform.startswith("linux") or _user_tuned_malloc():
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, for one, has no libc.so.6)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if not mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):  # 0: refused (32-bit glibc)
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
