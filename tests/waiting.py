"""Waiting for a condition, with a bound: the tests' only way to wait.

A test never sleeps to let something happen; it waits until it has
happened, and fails with a clear message when that takes too long.
"""

import asyncio
import time


async def wait_until(cond, timeout=10.0, what="condition", interval=0.01):
    """Await until ``cond()`` (a plain or async callable) returns a true
    value, and return that value; ``AssertionError`` naming ``what`` when
    ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if asyncio.iscoroutine(r):
            r = await r
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what}")
        await asyncio.sleep(interval)
