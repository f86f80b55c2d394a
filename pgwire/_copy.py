"""COPY: copy_from_table, copy_from_query, copy_to_table,
copy_records_to_table (asyncpg's signatures).

The per-row work is C (src/ext/copy.c): received data is gathered into
chunks, records are encoded into binary COPY tuples.  This module moves
chunks between the server and the caller's file, coroutine function or
iterable, once per chunk (hundreds of kilobytes), and builds the COPY
statement: identifiers through quote_ident, options through a whitelist
(never spliced raw), ``where=`` checked to be one balanced expression, and
the statement sent with the extended protocol so it can only ever be one
statement.
"""

from __future__ import annotations

import asyncio
import collections.abc
import os
import typing

from . import _aio
from . import _pgwire
from . import _sqlscan
from . import exceptions
from .utils import quote_ident, quote_literal

if typing.TYPE_CHECKING:
    from .types import ServerVersion

# where COPY TO writes: a path, a file-like object with write(), or a
# coroutine function taking each chunk
_Output = typing.Any
# where COPY FROM reads: a path, a file-like object with read(), an async
# iterable of bytes, or a bytes-like object
_Source = typing.Any

__all__ = ("CopyMixin",)

_READ_CHUNK = 512 * 1024
_RECORD_BATCH = 1000

# option -> kind; the order is the order they are written in
_OPTIONS = {
    "format": "format",
    "oids": "bool",
    "freeze": "bool",
    "delimiter": "char",
    "null": "str",
    "header": "header",
    "quote": "char",
    "escape": "char",
    "force_quote": "columns_or_bool",
    "force_not_null": "columns",
    "force_null": "columns",
    "encoding": "str",
}
_FORMATS = ("text", "csv", "binary")


def _bad_option(name: str, expected: str,
                value: object) -> exceptions.InterfaceError:
    return exceptions.InterfaceError(
        f"invalid COPY option {name}={value!r}: expected {expected}")


def _columns(name: str, value: object) -> str:
    if isinstance(value, (str, bytes)) or not isinstance(
            value, collections.abc.Iterable):
        raise _bad_option(name, "a list of column names", value)
    cols = list(value)
    if not cols or not all(isinstance(c, str) for c in cols):
        raise _bad_option(name, "a non-empty list of column names (str)",
                          value)
    return "(" + ", ".join(quote_ident(c) for c in cols) + ")"


def format_copy_options(**opts: typing.Any) -> str:
    """The parenthesised option list of a COPY statement, '' if none.
    Every value is checked against its option's kind; strings are quoted
    with quote_literal, names with quote_ident."""
    out = []
    for name, kind in _OPTIONS.items():
        value = opts.pop(name, None)
        if value is None:
            continue
        key = name.upper()
        if kind == "format":
            if not isinstance(value, str) or value.lower() not in _FORMATS:
                raise _bad_option(name, "'text', 'csv' or 'binary'", value)
            out.append(f"{key} {value.lower()}")
        elif kind == "bool":
            if not isinstance(value, bool):
                raise _bad_option(name, "True or False", value)
            out.append(f"{key} {'true' if value else 'false'}")
        elif kind == "header":
            if isinstance(value, bool):
                out.append(f"{key} {'true' if value else 'false'}")
            elif isinstance(value, str) and value.lower() == "match":
                out.append(f"{key} match")
            else:
                raise _bad_option(name, "True, False or 'match'", value)
        elif kind == "char":
            if not isinstance(value, str) or len(value) != 1:
                raise _bad_option(name, "a single character", value)
            out.append(f"{key} {quote_literal(value)}")
        elif kind == "str":
            if not isinstance(value, str):
                raise _bad_option(name, "a str", value)
            out.append(f"{key} {quote_literal(value)}")
        elif kind == "columns_or_bool" and isinstance(value, bool):
            if value:
                out.append(f"{key} *")
        else:
            out.append(f"{key} {_columns(name, value)}")
    if opts:
        raise TypeError(f"unexpected COPY option {next(iter(opts))!r}")
    return "(" + ", ".join(out) + ")" if out else ""


def _table_name(table_name: str, schema_name: str | None) -> str:
    if not isinstance(table_name, str):
        raise exceptions.InterfaceError(
            f"table_name must be str, not {type(table_name).__name__}")
    name = quote_ident(table_name)
    if schema_name:
        name = quote_ident(schema_name) + "." + name
    return name


def _column_list(columns: typing.Iterable[str] | None) -> str:
    if not columns:
        return ""
    return " " + _columns("columns", columns)


class _FileReader:
    """Async iterator of chunks read from a file object in the executor."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 f: typing.Any) -> None:
        self._loop = loop
        self._f = f

    def __aiter__(self) -> _FileReader:
        return self

    async def __anext__(self) -> bytes:
        data = await self._loop.run_in_executor(None, self._f.read,
                                                _READ_CHUNK)
        if not data:
            raise StopAsyncIteration
        return data  # type: ignore[no-any-return]


class CopyMixin:
    """The COPY methods of Connection."""

    __slots__ = ()

    if typing.TYPE_CHECKING:
        # what the mixin uses of Connection (and its C base)
        _loop: asyncio.AbstractEventLoop
        _config: typing.Any

        @property
        def _protocol(self) -> _pgwire.Protocol: ...
        def get_server_version(self) -> ServerVersion: ...
        def _prepare(self, query: str, name: str | None = None,
                     timeout: float | None = None, fresh: bool = False
                     ) -> typing.Awaitable[_pgwire._Statement]: ...
        async def _describe_oids(self, oids: typing.Iterable[int],
                                 timeout: float | None
                                 ) -> dict[typing.Any, typing.Any]: ...
        def fetchrow(
            self, query: str, *args: typing.Any,
            timeout: float | None = None,
            record_class: type[_pgwire.Record] | None = None,
            row_factory: typing.Callable[
                [tuple[str, ...]],
                typing.Callable[[tuple[typing.Any, ...]], typing.Any]]
            | None = None,
        ) -> _pgwire.Query[typing.Any]: ...
        def _copy(self, query: str, copy_in: bool,
                  stmt: _pgwire._Statement | None, /
                  ) -> _pgwire.Query[typing.Any]: ...

    # -- statements --------------------------------------------------------
    def _copy_where(self, where: str | None) -> str:
        if where is None:
            return ""
        if not isinstance(where, str):
            raise exceptions.InterfaceError(
                f"where must be str (an SQL boolean expression), not "
                f"{type(where).__name__}")
        if self.get_server_version() < (12, 0):
            raise exceptions.UnsupportedServerFeatureError(
                "the `where` parameter requires PostgreSQL 12 or later")
        try:
            _sqlscan.check_expression(
                where, standard_strings=self._standard_strings())
        except ValueError as e:
            raise exceptions.InterfaceError(
                f"invalid where= expression: {e}") from None
        # newlines: a trailing -- comment cannot swallow the ")"
        return f" WHERE (\n{where}\n)"

    def _standard_strings(self) -> bool:
        return self._protocol.settings.get(
            "standard_conforming_strings", "on") == "on"

    def _copy_timeout(self, timeout: float | None) -> float | None:
        if timeout is None:
            timeout = typing.cast("float | None",
                                  self._config.command_timeout)
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(
                    timeout, (int, float)):
                raise ValueError(
                    f"invalid timeout value: expected non-negative float "
                    f"(got {timeout!r})")
            if timeout <= 0:
                raise asyncio.TimeoutError
        return timeout

    # -- COPY TO -----------------------------------------------------------
    async def copy_from_table(
            self, table_name: str, *, output: _Output,
            columns: typing.Iterable[str] | None = None,
            schema_name: str | None = None, timeout: float | None = None,
            format: str | None = None, oids: bool | None = None,
            delimiter: str | None = None, null: str | None = None,
            header: bool | str | None = None, quote: str | None = None,
            escape: str | None = None,
            force_quote: bool | typing.Iterable[str] | None = None,
            encoding: str | None = None) -> str:
        """Copy a table's contents to ``output`` (a path, a file-like
        object with ``write``, or a coroutine function called with each
        chunk of bytes).  Returns the status, e.g. ``'COPY 100'``."""
        opts = format_copy_options(
            format=format, oids=oids, delimiter=delimiter, null=null,
            header=header, quote=quote, escape=escape,
            force_quote=force_quote, encoding=encoding)
        stmt = (f"COPY {_table_name(table_name, schema_name)}"
                f"{_column_list(columns)} TO STDOUT {opts}")
        return await self._copy_out(stmt, output,
                                    self._copy_timeout(timeout))

    async def copy_from_query(
            self, query: str, *args: typing.Any, output: _Output,
            timeout: float | None = None, format: str | None = None,
            oids: bool | None = None, delimiter: str | None = None,
            null: str | None = None, header: bool | str | None = None,
            quote: str | None = None, escape: str | None = None,
            force_quote: bool | typing.Iterable[str] | None = None,
            encoding: str | None = None) -> str:
        """Copy the result of ``query`` to ``output``.  Arguments are
        rendered as literals by the server with the parameter types the
        server inferred, and substituted for the ``$n`` placeholders that
        are outside quotes, comments and dollar-quoted bodies."""
        opts = format_copy_options(
            format=format, oids=oids, delimiter=delimiter, null=null,
            header=header, quote=quote, escape=escape,
            force_quote=force_quote, encoding=encoding)
        async with _aio.timeout(self._loop, self._copy_timeout(timeout)):
            if args:
                query = await self._mogrify(query, args)
            # newlines: a trailing -- comment must not swallow the ")"
            stmt = f"COPY (\n{query}\n) TO STDOUT {opts}"
            return await self._copy_out(stmt, output, None)

    async def _mogrify(self, query: str,
                       args: tuple[typing.Any, ...]) -> str:
        """`query` with its parameters replaced by typed literals."""
        state = await self._prepare(query)
        oids = state.param_oids
        if len(args) != len(oids):
            raise exceptions.InterfaceError(
                f"the server expects {len(oids)} argument"
                f"{'' if len(oids) == 1 else 's'} for this query, "
                f"{len(args)} {'was' if len(args) == 1 else 'were'} passed")
        types = await self._describe_oids(oids, None)
        names = [quote_ident(types[o].schema) + "."
                 + quote_ident(types.get(("sql", o), types[o].name))
                 for o in oids]
        cols = ", ".join(f"pg_catalog.quote_nullable(${i}::{t})"
                         for i, t in enumerate(names, 1))
        literals: _pgwire.Record = await self.fetchrow(f"SELECT {cols}", *args,
                                       record_class=_pgwire.Record)
        out = []
        pos = 0
        for start, end, num in _sqlscan.placeholders(
                query, standard_strings=self._standard_strings()):
            if not 1 <= num <= len(names):
                raise exceptions.InterfaceError(
                    f"query refers to ${num}; {len(names)} arguments given")
            out.append(query[pos:start])
            out.append(f"({literals[num - 1]}::{names[num - 1]})")
            pos = end
        out.append(query[pos:])
        return "".join(out)

    async def _copy_out(self, stmt: str, output: _Output,
                        timeout: float | None) -> str:
        loop = self._loop
        try:
            path = os.fspath(output)
        except TypeError:
            path = None
        f: typing.Any = None
        writer: typing.Any = None
        if path is not None:
            f = await loop.run_in_executor(None, open, path, "wb")
        elif hasattr(output, "write"):
            f = output
        elif callable(output):
            writer = output
        else:
            raise TypeError(
                "output is expected to be a file-like object, a path-like "
                f"object or a coroutine function, not "
                f"{type(output).__name__}")
        if writer is None:
            async def writer(data: bytes) -> None:
                await loop.run_in_executor(None, f.write, data)
        try:
            op = self._copy(stmt, False, None)
            try:
                async with _aio.timeout(self._loop, timeout):
                    res = await op
                    while res.__class__ is bytes:
                        await writer(res)
                        res = await op
            except BaseException:
                op.close()
                raise
            return res  # type: ignore[no-any-return]
        finally:
            if path is not None:
                await loop.run_in_executor(None, f.close)

    # -- COPY FROM ---------------------------------------------------------
    async def copy_to_table(
            self, table_name: str, *, source: _Source,
            columns: typing.Iterable[str] | None = None,
            schema_name: str | None = None, timeout: float | None = None,
            format: str | None = None, oids: bool | None = None,
            freeze: bool | None = None, delimiter: str | None = None,
            null: str | None = None, header: bool | str | None = None,
            quote: str | None = None, escape: str | None = None,
            force_quote: bool | typing.Iterable[str] | None = None,
            force_not_null: typing.Iterable[str] | None = None,
            force_null: typing.Iterable[str] | None = None,
            encoding: str | None = None, where: str | None = None) -> str:
        """Copy data from ``source`` (a path, a file-like object with
        ``read``, an async iterable of bytes, or a bytes-like object) into
        a table.  Returns the status, e.g. ``'COPY 100'``."""
        opts = format_copy_options(
            format=format, oids=oids, freeze=freeze, delimiter=delimiter,
            null=null, header=header, quote=quote, escape=escape,
            force_quote=force_quote, force_not_null=force_not_null,
            force_null=force_null, encoding=encoding)
        stmt = (f"COPY {_table_name(table_name, schema_name)}"
                f"{_column_list(columns)} FROM STDIN {opts}"
                f"{self._copy_where(where)}")
        loop = self._loop
        # str and os.PathLike are paths; bytes are data (asyncpg would
        # take bytes as a file name too)
        path = os.fspath(source) if isinstance(source, (str, os.PathLike)) \
            else None
        f = None
        if path is not None:
            f = await loop.run_in_executor(None, open, path, "rb")
            source = _FileReader(loop, f)
        elif hasattr(source, "read"):
            source = _FileReader(loop, source)
        elif not isinstance(source, collections.abc.AsyncIterable):
            try:
                source = memoryview(source)
            except TypeError:
                raise TypeError(
                    "source is expected to be a path-like or file-like "
                    "object, an asynchronous iterable of bytes or a "
                    "bytes-like object, not "
                    f"{type(source).__name__}") from None
        try:
            return await self._copy_in(stmt, source, None,
                                       self._copy_timeout(timeout))
        finally:
            if f is not None:
                await loop.run_in_executor(None, f.close)

    async def copy_records_to_table(
            self, table_name: str, *,
            records: typing.Iterable[typing.Sequence[typing.Any]]
            | typing.AsyncIterable[typing.Sequence[typing.Any]],
            columns: typing.Iterable[str] | None = None,
            schema_name: str | None = None, timeout: float | None = None,
            where: str | None = None) -> str:
        """Copy records (tuples, or any sequences, of column values; an
        iterable or an async iterable) into a table with binary COPY.
        Every target column needs a binary encoder; a column without one
        raises InternalClientError naming it before anything is sent."""
        tab = _table_name(table_name, schema_name)
        cols = ", ".join(quote_ident(c) for c in columns) if columns \
            else "*"
        timeout = self._copy_timeout(timeout)
        async with _aio.timeout(self._loop, timeout):
            state = await self._prepare(f"SELECT {cols} FROM {tab} LIMIT 1")
            stmt = (f"COPY {tab}{_column_list(columns)} FROM STDIN "
                    f"(FORMAT binary){self._copy_where(where)}")
            return await self._copy_in(stmt, records, state, None)

    async def _copy_in(self, stmt: str, source: typing.Any,
                       state: _pgwire._Statement | None,
                       timeout: float | None) -> str:
        op = self._copy(stmt, True, state)
        writable = self._protocol._writable
        try:
            async with _aio.timeout(self._loop, timeout):
                await op                      # the server is in copy-in mode
                if state is not None:
                    await self._send_records(op, source, writable)
                elif isinstance(source, memoryview):
                    await self._send_buffer(op, source, writable)
                else:
                    async for chunk in source:
                        if not op._copy_write(chunk):
                            break
                        w = writable()
                        if w is not None:
                            await w
                op._copy_end()
                return await op  # type: ignore[no-any-return]
        except BaseException:
            op.close()
            raise

    @staticmethod
    async def _send_buffer(op: _pgwire.Query[typing.Any], data: memoryview,
                           writable: typing.Callable[[], typing.Any]
                           ) -> None:
        for i in range(0, max(len(data), 1), _READ_CHUNK):
            if not op._copy_write(data[i:i + _READ_CHUNK]):
                return
            w = writable()
            if w is not None:
                await w

    @staticmethod
    async def _send_records(op: _pgwire.Query[typing.Any],
                            records: typing.Any,
                            writable: typing.Callable[[], typing.Any]
                            ) -> None:
        if isinstance(records, collections.abc.AsyncIterable):
            batch: list[typing.Any] = []
            async for rec in records:
                batch.append(rec)
                if len(batch) >= _RECORD_BATCH:
                    if not await _write_all(op, iter(batch), writable):
                        return
                    batch = []
            if batch:
                await _write_all(op, iter(batch), writable)
        else:
            await _write_all(op, iter(records), writable)


async def _write_all(op: _pgwire.Query[typing.Any],
                     it: typing.Iterator[typing.Any],
                     writable: typing.Callable[[], typing.Any]) -> bool:
    """Encode and send everything `it` yields; False if the server
    stopped taking data."""
    while True:
        more = op._copy_write_records(it)
        if more is None:
            return False    # the server failed the COPY: the final await
                            # raises its error
        w = writable()
        if w is not None:
            await w
        if not more:
            return True
