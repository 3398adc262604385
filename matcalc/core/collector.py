"""The cyclic garbage collector, paused while a derivation builds its nodes.

A derivation makes tens of thousands of small immutable nodes that reference counting frees;
none form cycles that outlive it, yet each of the collector's passes walks the growing heap
(about a third of deriving L = 1000 layers; benchmarks/bench_targets.py measures it).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and turn it back on if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
