"""A small scanner for PostgreSQL SQL text.

It knows what the server's lexer (src/backend/parser/scan.l) treats as
opaque: quoted strings ('...', E'...', U&'...', B'...', X'...'), quoted
identifiers, dollar-quoted bodies ($tag$...$tag$), and comments (``--`` and
nested ``/* */``).  It is used to find the ``$n`` placeholders that are
really placeholders (copy_from_query) and to check that a fragment given
for splicing (the ``where=`` of COPY) is one balanced expression.
"""

from __future__ import annotations

import re
import typing

__all__ = ("ScanError", "placeholders", "check_expression")

_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\U0010ffff]")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_PARAM = re.compile(r"\$([0-9]+)")


class ScanError(ValueError):
    """The text has an unterminated quote, comment or dollar quote."""


def _skip_quoted(text: str, i: int, quote: str, backslashes: bool) -> int:
    """i is just past the opening quote; return the index just past the
    closing one."""
    n = len(text)
    while i < n:
        c = text[i]
        if backslashes and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise ScanError("unterminated quoted string or identifier")


def _skip_block_comment(text: str, i: int) -> int:
    """i is just past the opening '/*' (comments nest)."""
    depth = 1
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise ScanError("unterminated /* comment")


def tokens(text: str, *, standard_strings: bool = True
           ) -> typing.Iterator[tuple[str, int, int]]:
    """Yield (kind, start, end) for the code parts of `text`: kind is
    'param' ($n; the match object's number is text[start+1:end]), 'char'
    for any other character outside opaque regions.  Opaque regions are
    skipped."""
    i = 0
    n = len(text)
    prev_ident = False  # the previous character continues an identifier
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            prev_ident = False
            continue
        if c == "/" and text.startswith("/*", i):
            i = _skip_block_comment(text, i + 2)
            prev_ident = False
            continue
        if c == "'":
            # E'..' (escape string) or a plain string; with
            # standard_conforming_strings off plain strings take
            # backslash escapes too
            esc = not standard_strings
            if i > 0 and text[i - 1] in "eE" and (
                    i < 2 or not _IDENT_CHAR.match(text[i - 2])):
                esc = True
            i = _skip_quoted(text, i + 1, "'", esc)
            prev_ident = False
            continue
        if c == '"':
            i = _skip_quoted(text, i + 1, '"', False)
            prev_ident = True
            continue
        if c == "$" and not prev_ident:
            m = _PARAM.match(text, i)
            if m:
                yield ("param", i, m.end())
                i = m.end()
                prev_ident = False
                continue
            m = _DOLLAR_TAG.match(text, i)
            if m:
                tag = m.group(0)
                j = text.find(tag, m.end())
                if j < 0:
                    raise ScanError("unterminated dollar-quoted string")
                i = j + len(tag)
                prev_ident = False
                continue
        yield ("char", i, i + 1)
        prev_ident = bool(_IDENT_CHAR.match(c))
        i += 1


def placeholders(text: str, *, standard_strings: bool = True
                 ) -> list[tuple[int, int, int]]:
    """[(start, end, number)] of the $n placeholders in `text`."""
    return [(s, e, int(text[s + 1:e]))
            for kind, s, e in tokens(text, standard_strings=standard_strings)
            if kind == "param"]


def check_expression(text: str, *, standard_strings: bool = True) -> None:
    """Raise ValueError unless `text` is a single balanced fragment: no
    unterminated quote or comment, parentheses balanced, no ';' and no
    placeholders outside quotes."""
    depth = 0
    try:
        toks = list(tokens(text, standard_strings=standard_strings))
    except ScanError as e:
        raise ValueError(str(e)) from None
    for kind, s, _end in toks:
        if kind == "param":
            raise ValueError("parameters ($n) are not allowed here")
        c = text[s]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced parentheses")
        elif c == ";":
            raise ValueError("';' is not allowed here")
    if depth != 0:
        raise ValueError("unbalanced parentheses")
    if not text.strip():
        raise ValueError("empty expression")
