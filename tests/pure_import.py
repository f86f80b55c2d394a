"""Import a pure-Python pgwire module without the C extension (for the
tests of pgwire.exceptions and pgwire.types, which run on a checkout whose
extension is not built)."""
import importlib
import pathlib
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parent.parent


def import_pure(name):
    """Import a pure-Python pgwire module; if the package __init__ cannot be
    imported (it needs the C extension and that is not built), import the
    module under a bare 'pgwire' package that skips __init__."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if "pgwire" in sys.modules:     # the package imported; the
            raise                       # module itself is broken
        pkg = types.ModuleType("pgwire")
        pkg.__path__ = [str(ROOT / "pgwire")]
        sys.modules["pgwire"] = pkg
        return importlib.import_module(name)
