"""Objects that live on a connection (prepared statements, cursors,
transactions) and must stop working once a pool connection they came
from is released.

The pool bumps ``conn._pool_release_ctr`` on every release; a resource
records the value it saw when it was made and refuses to run when it has
changed.  A connection outside a pool never has the attribute (0).
Not public API.
"""

from __future__ import annotations

import functools
import typing

from . import exceptions

if typing.TYPE_CHECKING:
    from .connection import Connection

_F = typing.TypeVar("_F", bound=typing.Callable[..., typing.Any])


def marker(conn: object) -> int:
    """The connection's release counter, to be kept by a new resource."""
    return getattr(conn, "_pool_release_ctr", 0)


def check(conn: object, mark: int, owner: str, meth: str) -> None:
    """Raise InterfaceError when the connection was released back to its
    pool after the resource (``owner``, a class name) was made."""
    if getattr(conn, "_pool_release_ctr", 0) != mark:
        raise exceptions.InterfaceError(released_message(owner, meth))


class Resource:
    """Base of the resources: keeps the connection and the release marker
    it had when the resource was made."""

    __slots__ = ("_conn", "_relmark")
    # the class name in messages; None: the class's own
    _owner: typing.ClassVar[str | None] = None

    def __init__(self, conn: Connection[typing.Any]) -> None:
        self._conn = conn
        self._relmark = marker(conn)

    def _check_released(self, meth: str) -> None:
        """InterfaceError once the pool connection it came from has been
        released (as asyncpg)."""
        check(self._conn, self._relmark, self._owner or type(self).__name__,
              meth)


def released_message(owner: str, meth: str) -> str:
    msg = ("cannot call {}.{}(): the underlying connection has been "
           "released back to the pool".format(owner, meth))
    if owner == "PreparedStatement":
        msg += ("; use Pool.prepare() for a statement usable across "
                "acquisitions")
    return msg


def guarded(meth: _F) -> _F:
    """Decorate a coroutine method of a resource (which has
    ``_check_released(name)``) so that the release check happens when it
    is called, not when the coroutine is awaited, as in asyncpg."""
    name = meth.__name__

    @functools.wraps(meth)
    def call(self: typing.Any, *args: typing.Any,
             **kwargs: typing.Any) -> typing.Any:
        self._check_released(name)
        return meth(self, *args, **kwargs)

    return typing.cast(_F, call)
