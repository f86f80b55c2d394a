"""The flags of the C module's types: an immutable type
(Py_TPFLAGS_IMMUTABLETYPE) only over immutable bases.  CPython 3.12 and
3.13 warn at import (DeprecationWarning) when a type is made immutable over
a mutable base, and 3.14 refuses it (gh-95388): Protocol, whose base is
the Python class asyncio.BufferedProtocol, must stay mutable.  No server
needed."""
import asyncio
import pathlib
import subprocess
import sys

import pgwire
from pgwire import _pgwire

IMMUTABLETYPE = 1 << 8


def _module_types():
    out = []
    for name in dir(_pgwire):
        obj = getattr(_pgwire, name)
        if isinstance(obj, type) and obj.__module__.startswith("pgwire"):
            out.append(obj)
    return out


def test_immutable_types_have_immutable_bases():
    types = _module_types()
    assert _pgwire.Protocol in types
    for tp in types:
        if not tp.__flags__ & IMMUTABLETYPE:
            continue
        for base in tp.__mro__[1:]:
            assert base.__flags__ & IMMUTABLETYPE, (tp, base)


def test_protocol_is_a_buffered_protocol():
    assert issubclass(_pgwire.Protocol, asyncio.BufferedProtocol)
    assert not _pgwire.Protocol.__flags__ & IMMUTABLETYPE


def test_import_warns_nothing():
    """A fresh interpreter imports the extension with every
    DeprecationWarning an error."""
    root = pathlib.Path(pgwire.__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-W", "error::DeprecationWarning",
                        "-c", "import pgwire._pgwire"],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr
