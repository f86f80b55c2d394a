"""Type variables shared by the typed faces (typing only; nothing here is
used on a query's path).

``RecordT`` is the row type of a Connection, Pool, PreparedStatement or
cursor: what ``fetch()`` returns a list of when neither ``record_class``
nor ``row_factory`` is given.  Its default (PEP 696) is
:class:`pgwire.Record`, so a bare ``Connection`` means
``Connection[Record]``; at run time (Python 3.11's typing has no
TypeVar defaults, and typing_extensions is not a dependency) it is a
plain TypeVar.
"""

from __future__ import annotations

import typing

from . import _pgwire

if typing.TYPE_CHECKING:
    from typing_extensions import TypeVar
    RecordT = TypeVar("RecordT", default=_pgwire.Record)
else:
    RecordT = typing.TypeVar("RecordT")

# another row type (an overload's record_class= or row_factory=)
RowT = typing.TypeVar("RowT")
# a record_class= (a Record subclass)
OtherRecordT = typing.TypeVar("OtherRecordT", bound=_pgwire.Record)
