"""The few asyncio helpers the cold path uses, made loop-agnostic.

The coroutines of connect (connect_utils), COPY (_copy) and close run on
asyncio's loops for pgwire and on a BlockingLoop for pgwire.sync (the same
code, driven by the blocking face's C loop).  asyncio.timeout() needs a
running asyncio task; a BlockingLoop gives its own equivalent
(``_pgwire_timeout_at``), which cancels the awaitable it is driving.
"""

from __future__ import annotations

import asyncio
import typing

__all__ = ("timeout", "timeout_at")


def timeout_at(loop: typing.Any, when: float | None
               ) -> typing.AsyncContextManager[typing.Any]:
    """``async with timeout_at(loop, when)``: asyncio.timeout_at(when) on
    an asyncio loop, the BlockingLoop's own on a blocking one."""
    own = getattr(loop, "_pgwire_timeout_at", None)
    if own is None:
        return asyncio.timeout_at(when)
    return own(when)  # type: ignore[no-any-return]


def timeout(loop: typing.Any, delay: float | None
            ) -> typing.AsyncContextManager[typing.Any]:
    """``async with timeout(loop, delay)`` (delay None: no limit)."""
    own = getattr(loop, "_pgwire_timeout_at", None)
    if own is None:
        return asyncio.timeout(delay)
    return own(  # type: ignore[no-any-return]
        None if delay is None else loop.time() + delay)
