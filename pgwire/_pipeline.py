"""Explicit pipeline batches: ``async with conn.pipeline() as p`` (see
docs/pipelining.md).

The queueing, the Syncs and the error handling are in C (the request
engine, src/core/pgc_conn.h, and src/ext/op.c); this is the context
manager around them.
"""

from __future__ import annotations

import typing

from . import exceptions

if typing.TYPE_CHECKING:
    from .connection import Connection

__all__ = ('Pipeline',)


class Pipeline:
    """An explicit batch on one connection.

    Query methods called on the connection inside the block, by any task,
    join it: each is written at once with a Flush (so its own result comes
    back as soon as the server has it) but no Sync, so the statements up to
    the next :meth:`sync` run as one implicit transaction.  The first one
    to fail raises the server's error; every later one of its group raises
    :class:`pgwire.exceptions.PipelineAbortedError`.  ``sync_each=True``
    puts a Sync after each statement instead (an error then fails only its
    own statement).  The end of the block syncs, also when the block raises.

    COPY, cursors and ``execute()`` without arguments raise InterfaceError
    inside the block.
    """

    __slots__ = ('_conn', '_sync_each', '_active')

    def __init__(self, conn: Connection[typing.Any],
                 sync_each: bool = False) -> None:
        if not isinstance(sync_each, bool):
            raise TypeError(
                f"sync_each must be True or False, got {sync_each!r}")
        self._conn = conn
        self._sync_each = sync_each
        self._active = False

    @property
    def sync_each(self) -> bool:
        return self._sync_each

    async def sync(self, *, timeout: float | None = None) -> None:
        """Send a Sync and wait for the server's answer: the statements
        since the last sync are committed (outside a transaction block) or
        rolled back if one of them failed.  Raises an error the server
        reports at the Sync itself (a deferred constraint at the implicit
        COMMIT); the statements' own errors are raised to their callers."""
        if not self._active:
            raise exceptions.InterfaceError(
                "sync() is only allowed inside the conn.pipeline() block")
        await self._conn._pipeline_sync(timeout)

    async def __aenter__(self) -> Pipeline:
        if self._active:
            raise exceptions.InterfaceError(
                "this conn.pipeline() block is already entered")
        self._conn._protocol._batch_begin(self._sync_each)
        self._active = True
        return self

    async def __aexit__(self, et: type[BaseException] | None,
                        ev: BaseException | None,
                        tb: typing.Any) -> bool:
        try:
            if not self._conn.is_closed():
                await self._conn._pipeline_sync(None)
        except Exception:
            if et is None:
                raise
        finally:
            self._active = False
            self._conn._protocol._batch_end()
        return False
