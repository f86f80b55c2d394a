"""Helpers for building SQL text safely."""

__all__ = ("quote_ident",)


def quote_ident(name):
    """``name`` as a double-quoted SQL identifier: quotes doubled, NUL
    refused, never backslashes, so the result is safe whatever
    ``standard_conforming_strings`` is.  A qualified name is several calls
    joined with '.', never one string split on '.'."""
    if not isinstance(name, str):
        raise TypeError(f"identifier must be str, not {type(name).__name__}")
    if "\x00" in name:
        raise ValueError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'
