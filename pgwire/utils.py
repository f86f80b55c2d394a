"""Helpers for building SQL text safely."""

__all__ = ("quote_ident", "quote_literal")


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier: quotes doubled, NUL
    refused, never backslashes, so the result is safe whatever
    ``standard_conforming_strings`` is.  A qualified name is several calls
    joined with '.', never one string split on '.'."""
    if not isinstance(name, str):
        raise TypeError(f"identifier must be str, not {type(name).__name__}")
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as an SQL string literal: quotes doubled, NUL refused;
    when it contains a backslash, the E'...' form with backslashes doubled
    (as PQescapeLiteral), so the result means the same whatever
    ``standard_conforming_strings`` is."""
    if not isinstance(value, str):
        raise TypeError(f"literal must be str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError("literal contains a NUL character")
    body = value.replace("'", "''")
    if "\\" in value:
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"
