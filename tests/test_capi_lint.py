"""C-API lint (issue 17 item 6): src/ uses neither deprecated nor private
CPython API, and allocates objects zeroed.  String scanning, as msgspec's
test_cpylint.py does; comments are ignored.  A failure names file:line.

- deprecated since 3.12/3.13: PyErr_Fetch, PyErr_Restore,
  PyErr_NormalizeException (PyErr_GetRaisedException /
  PyErr_SetRaisedException), PyWeakref_GetObject / PyWeakref_GET_OBJECT
  (PyWeakref_GetRef), and a few older ones; src/ext/compat.h alone may
  name them, to backport the replacements to 3.11;
- private: any _Py-prefixed name (they change without notice);
- PyObject_GC_New / PyObject_New do not zero memory: a memset (or
  PGW_ZERO_FIELDS) must follow the allocation, or the site is listed in
  UNZEROED with a reason.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
COMPAT = "src/ext/compat.h"

DEPRECATED = {
    "PyErr_Fetch": "PyErr_GetRaisedException",
    "PyErr_Restore": "PyErr_SetRaisedException",
    "PyErr_NormalizeException": "PyErr_GetRaisedException",
    "PyWeakref_GetObject": "PyWeakref_GetRef",
    "PyWeakref_GET_OBJECT": "PyWeakref_GetRef",
    "PyImport_ImportModuleNoBlock": "PyImport_ImportModule",
    "PyEval_CallObject": "PyObject_Call",
    "PyEval_InitThreads": "nothing (a no-op since 3.9)",
    "PyUnicode_AS_UNICODE": "PyUnicode_AsWideCharString",
    "PyObject_AsCharBuffer": "PyObject_GetBuffer",
    "Py_TRASHCAN_SAFE_BEGIN": "Py_TRASHCAN_BEGIN",
    "PyErr_SetExcInfo": "PyErr_SetHandledException",
    "PyErr_GetExcInfo": "PyErr_GetHandledException",
}
_DEPRECATED_RE = re.compile(r"\b(%s)\b" % "|".join(DEPRECATED))
_PRIVATE_RE = re.compile(r"\b_Py[A-Za-z0-9_]+")
_ALLOC_RE = re.compile(r"\b(PyObject_GC_New|PyObject_New)\s*\(")
# A memset or PGW_ZERO_FIELDS within this many lines after the allocation
# counts as zeroing.
ZERO_WINDOW = 8

# "path:function": reason, for an allocation that is not followed by
# zeroing on purpose.  Empty: every object is zeroed after allocation.
UNZEROED: dict = {}


def _strip_comments(text):
    """The text with comments blanked (newlines kept, so lines match)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"", blank, text,
                  flags=re.S)


def _sources():
    for path in sorted(SRC.rglob("*.[ch]")):
        rel = path.relative_to(ROOT).as_posix()
        yield rel, _strip_comments(path.read_text(encoding="utf-8"))


def _function_at(lines, i):
    """The name of the function whose body holds line i (house style:
    the name starts a line, the body's braces sit in column 0)."""
    for j in range(i, -1, -1):
        if lines[j].startswith("{"):
            for k in range(j - 1, max(j - 6, -1), -1):
                m = re.match(r"([A-Za-z_]\w*)\s*\(", lines[k])
                if m:
                    return m.group(1)
            return "?"
        if lines[j].startswith("}") and j != i:
            return "?"
    return "?"


def test_no_deprecated_api():
    bad = []
    for rel, text in _sources():
        if rel == COMPAT:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in _DEPRECATED_RE.finditer(line):
                bad.append(f"{rel}:{n}: {m.group(1)} is deprecated; use "
                           f"{DEPRECATED[m.group(1)]} (src/ext/compat.h "
                           f"backports it)")
    assert not bad, "\n" + "\n".join(bad)


def test_no_private_api():
    bad = []
    for rel, text in _sources():
        for n, line in enumerate(text.splitlines(), 1):
            for m in _PRIVATE_RE.finditer(line):
                bad.append(f"{rel}:{n}: {m.group(0)} is private CPython API")
    assert not bad, "\n" + "\n".join(bad)


def test_allocations_zeroed():
    bad, seen = [], set()
    for rel, text in _sources():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if not _ALLOC_RE.search(line):
                continue
            window = "\n".join(lines[i:i + ZERO_WINDOW])
            if "memset(" in window or "PGW_ZERO_FIELDS(" in window:
                continue
            key = f"{rel}:{_function_at(lines, i)}"
            if key in UNZEROED:
                seen.add(key)
                continue
            bad.append(f"{rel}:{i + 1}: {_ALLOC_RE.search(line).group(1)} "
                       f"does not zero memory: memset the object (or its "
                       f"new fields) right after, or list {key} in "
                       f"UNZEROED with a reason")
    for key in sorted(set(UNZEROED) - seen):
        bad.append(f"tests/test_capi_lint.py: UNZEROED lists {key}, which "
                   f"no longer allocates without zeroing: remove the entry")
    assert not bad, "\n" + "\n".join(bad)


@pytest.mark.parametrize("snippet, found", [
    ("    PyErr_Fetch(&t, &v, &tb);\n", True),
    ("    /* PyErr_Fetch is deprecated */\n", False),
    ('    msg = "PyErr_Fetch";\n', False),
    ("    x = PyErr_FetchSomething();\n", False),
])
def test_lint_scanner(snippet, found):
    text = _strip_comments(snippet)
    assert bool(_DEPRECATED_RE.search(text)) is found
