"""Row factories: ``row_factory=`` of connect(), create_pool(), fetch(),
fetchrow(), fetchmany(), prepare(), cursor() and PreparedStatement's
methods (see docs/rows.md).

A row factory is called once per result description with the tuple of
column names and returns a *row maker*: a callable taking the tuple of one
row's values and returning the row.  The makers of the factories here are
:class:`RowMaker` objects, which build rows in C::

    rows = await conn.fetch("SELECT 1 AS a, 'x' AS b", row_factory=dict_row)
    # [{'a': 1, 'b': 'x'}]

Any callable works as a factory::

    def upper_dict_row(names):
        keys = [n.upper() for n in names]
        return lambda values: dict(zip(keys, values))

The maker a factory returns is kept with the statement and used for every
row of every execution until the statement is described again, so a
factory's own work (checking a class's fields, making a namedtuple class)
is done once, not per row.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import typing
from typing import Any, Callable, Protocol, Sequence, TypeVar

from . import _pgwire

if typing.TYPE_CHECKING:
    from types import ModuleType

__all__ = ("RowMaker", "RowFactory", "tuple_row", "dict_row",
           "namedtuple_row", "class_row", "struct_row", "scalar_row")

RowMaker = _pgwire.RowMaker

_T = TypeVar("_T")
_RowT_co = TypeVar("_RowT_co", covariant=True)
_F = TypeVar("_F", bound=Callable[..., Any])


class RowFactory(Protocol[_RowT_co]):
    """The type of a row factory making rows of type ``_RowT_co``: called
    with the tuple of column names, it returns the row maker, called with
    the tuple of one row's values.  ``fetch(..., row_factory=f)`` with
    ``f: RowFactory[T]`` is ``list[T]``; any function of that shape is
    one."""

    def __call__(self, names: tuple[str, ...], /
                 ) -> Callable[[tuple[Any, ...]], _RowT_co]: ...


def _cached(fn: _F) -> _F:
    """functools.lru_cache(maxsize=256), keeping fn's signature for type
    checkers (lru_cache's own type erases it)."""
    return functools.lru_cache(maxsize=256)(fn)  # type: ignore[return-value]


def tuple_row(names: tuple[str, ...]
              ) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Each row a ``tuple`` of its values (made in C)."""
    return RowMaker("tuple", None, names)


def dict_row(names: tuple[str, ...]
             ) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """Each row a ``dict`` {column name: value} in column order (made in
    C).  Duplicate column names: the last column with the name wins, as
    with ``dict(zip(names, values))`` (psycopg's ``dict_row`` does the
    same); alias the columns in SQL to keep both."""
    return RowMaker("dict", None, names)


def scalar_row(names: tuple[str, ...]) -> RowMaker:
    """Each row its first column's value."""
    if not names:
        raise TypeError("scalar_row needs a result with at least one "
                        "column, got none")
    return RowMaker("scalar", None, names)


@functools.lru_cache(maxsize=256)
def _namedtuple_class(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    return collections.namedtuple("Row", names, rename=True)


def namedtuple_row(names: tuple[str, ...]
                   ) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Each row a namedtuple; one class per result shape (cached).  Names
    that are not identifiers, start with '_' or repeat become ``_<index>``
    (``namedtuple(rename=True)``)."""
    return RowMaker("namedtuple", _namedtuple_class(tuple(names)), names)


def _duplicates(names: Sequence[str]) -> list[str]:
    return sorted(n for n, c in collections.Counter(names).items() if c > 1)


def _mismatch(what: str, names: Sequence[str], missing: set[str],
              extra: set[str]) -> TypeError:
    parts = []
    if missing:
        parts.append("missing (no column, no default): " +
                     ", ".join(sorted(missing)))
    if extra:
        parts.append("extra columns (no such field): " +
                     ", ".join(sorted(extra)))
    return TypeError("{}: the result's columns do not match; {}; columns: "
                     "{}".format(what, "; ".join(parts), ", ".join(names)))


def _check_names(what: str, names: Sequence[str], fields: Sequence[str],
                 required: Sequence[str], takes_any: bool = False) -> None:
    dups = _duplicates(names)
    if dups:
        raise TypeError("{}: duplicate column names {}; alias them in the "
                        "query".format(what, ", ".join(dups)))
    missing = set(required) - set(names)
    extra = set() if takes_any else set(names) - set(fields)
    if missing or extra:
        raise _mismatch(what, names, missing, extra)


class _Factory:
    """A factory for one class: resolves a maker per column-name tuple
    (kept, up to 64 shapes)."""

    __slots__ = ("cls", "_makers", "_what")

    def __init__(self, cls: type[Any], what: str) -> None:
        self.cls = cls
        self._what = what
        self._makers: dict[tuple[str, ...], RowMaker] = {}

    def _resolve(self, names: tuple[str, ...]) -> RowMaker:
        raise NotImplementedError

    def __call__(self, names: Sequence[str]) -> RowMaker:
        names = tuple(names)
        maker = self._makers.get(names)
        if maker is None:
            maker = self._resolve(names)
            if len(self._makers) >= 64:
                self._makers.clear()
            self._makers[names] = maker
        return maker

    def __repr__(self) -> str:
        return "{}({})".format(self._what.split("(")[0],
                               getattr(self.cls, "__qualname__", self.cls))


_FIELD_KINDS = (getattr(dataclasses, "_FIELD", None),
                getattr(dataclasses, "_FIELD_CLASSVAR", None))


def _generated_init(cls: type[Any]) -> bool:
    """Is cls.__init__ the one @dataclass wrote (not the user's)?"""
    code = getattr(cls.__init__, "__code__", None)
    return code is not None and code.co_filename == "<string>"


def _dataclass_in_c(cls: Any, names: Sequence[str]) -> bool:
    """Can rows of cls be made without calling __init__ (C: object.__new__
    plus object.__setattr__ per field)?  Only when __init__ would do
    exactly that: the generated one, no __post_init__, no InitVar, every
    field an __init__ parameter given by a column, object.__new__."""
    if None in _FIELD_KINDS or not cls.__dataclass_params__.init:
        return False
    if cls.__new__ is not object.__new__ or hasattr(cls, "__post_init__"):
        return False
    if not _generated_init(cls):
        return False
    fields = cls.__dataclass_fields__.values()
    if any(getattr(f, "_field_type", None) not in _FIELD_KINDS
           for f in fields):
        return False
    real = [f for f in fields if f._field_type is _FIELD_KINDS[0]]
    return all(f.init for f in real) and \
        {f.name for f in real} == set(names)


class _ClassRow(_Factory):
    __slots__ = ()

    def _resolve(self, names: tuple[str, ...]) -> RowMaker:
        cls = self.cls
        if dataclasses.is_dataclass(cls):
            fields = [f for f in dataclasses.fields(cls) if f.init]
            required = [f.name for f in fields
                        if f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING]
            _check_names(self._what, names, [f.name for f in fields],
                         required)
            kind: typing.Literal["attrs", "kwcall"] = \
                "attrs" if _dataclass_in_c(cls, names) else "kwcall"
            return RowMaker(kind, cls, names)
        params, needed, takes_any = _signature_fields(cls)
        if params is not None and needed is not None:
            _check_names(self._what, names, params, needed, takes_any)
        return RowMaker("kwcall", cls, names)


def _signature_fields(cls: type[Any]) -> tuple[
        list[str] | None, list[str] | None, bool]:
    """(keyword parameter names, required ones, takes **kwargs) of
    cls(...), or (None, None, True) when there is no signature to read."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return None, None, True
    fields: list[str] = []
    required: list[str] = []
    takes_any = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            takes_any = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            fields.append(p.name)
            if p.default is p.empty:
                required.append(p.name)
        elif p.kind is p.POSITIONAL_ONLY and p.default is p.empty:
            required.append(p.name)  # cannot be given: always missing
    return fields, required, takes_any


@_cached
def class_row(cls: type[_T]) -> RowFactory[_T]:
    """A factory making each row ``cls(**{column: value})``: a dataclass,
    an attrs class, a pydantic model or any class taking the columns as
    keyword arguments (a msgspec Struct: see :func:`struct_row`).

    The columns are checked against the class once per result shape: a
    field without a default and without a column, or a column that is
    not a field, raises TypeError naming them.  A plain dataclass (the
    generated ``__init__``, no ``__post_init__``, every field a column) is
    built in C without calling ``__init__``; other classes run their
    ``__init__`` per row.  ``class_row(C)`` returns the same factory for
    the same class.
    """
    if not isinstance(cls, type):
        raise TypeError("class_row() takes a class, got {!r}".format(cls))
    msgspec = _msgspec(required=False)
    if msgspec is not None and issubclass(cls, msgspec.Struct):
        return struct_row(cls)
    return _ClassRow(cls, "class_row({})".format(cls.__qualname__))


def _msgspec(required: bool = True) -> ModuleType | None:
    try:
        import msgspec
    except ImportError:
        if required:
            raise ImportError("struct_row() needs msgspec "
                              "(pip install msgspec)") from None
        return None
    return msgspec


class _StructRow(_Factory):
    __slots__ = ()

    def _resolve(self, names: tuple[str, ...]) -> RowMaker:
        msgspec = _msgspec()
        assert msgspec is not None
        fields = msgspec.structs.fields(self.cls)
        _check_names(self._what, names, [f.name for f in fields],
                     [f.name for f in fields if f.required])
        # the columns are the leading positional fields in order
        # (__match_args__ leaves out keyword-only ones): positional
        # arguments, msgspec's fastest path
        positional = getattr(self.cls, "__match_args__", ())
        if tuple(positional[:len(names)]) == names:
            return RowMaker("args", self.cls, names)
        return RowMaker("kwcall", self.cls, names)


@_cached
def struct_row(struct_type: type[_T]) -> RowFactory[_T]:
    """A factory making each row a ``msgspec.Struct`` of ``struct_type``
    from the columns by field name, built in C (msgspec's constructor);
    the columns are checked against the fields once per result shape, as
    :func:`class_row` does.  Needs msgspec."""
    msgspec = _msgspec()
    assert msgspec is not None
    if not (isinstance(struct_type, type)
            and issubclass(struct_type, msgspec.Struct)):
        raise TypeError("struct_row() takes a msgspec.Struct subclass, got "
                        "{!r}".format(struct_type))
    return _StructRow(struct_type,
                      "struct_row({})".format(struct_type.__qualname__))


def check_shape(record_class: type[_pgwire.Record] | None,
                row_factory: RowFactory[Any] | None,
                what: str = "connect()"
                ) -> type[_pgwire.Record] | RowFactory[Any] | None:
    """The row shape to use: record_class (a Record subclass or None) or
    row_factory (a row factory), never both.  Raises TypeError naming
    both when both are given, or for a row_factory that is a class or not
    callable."""
    if row_factory is None:
        return record_class
    if record_class is not None and record_class is not _pgwire.Record:
        raise TypeError("{}: record_class and row_factory are mutually "
                        "exclusive, got record_class={!r} and "
                        "row_factory={!r}".format(what, record_class,
                                                  row_factory))
    if isinstance(row_factory, type):
        raise TypeError("{}: row_factory must be a row factory (a callable "
                        "taking the column names and returning a row "
                        "maker), not a class: use pgwire.rows.class_row({})"
                        .format(what, row_factory.__qualname__))
    if not callable(row_factory):
        raise TypeError("{}: row_factory must be a callable (pgwire.rows."
                        "dict_row, class_row(cls), ...), got {!r}".format(
                            what, row_factory))
    return row_factory
