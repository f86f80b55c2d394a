"""pgwire/_pgwire.pyi names exactly what the built C module has, private
names included.  `python -m mypy.stubtest pgwire._pgwire` (scripts/test.sh)
checks the public names, their kinds and the signatures it can see, but
ignores a private runtime name missing from the stub: the binding's
interface to pgwire/*.py is mostly private (_prepare, _exec_stmt, _copy,
...), so this test holds the stub to all of it."""

import ast
import pathlib

import pgwire._pgwire as ext

STUB = pathlib.Path(ext.__file__).with_name("_pgwire.pyi")
# Runtime attributes every extension type or module has, not written in a
# stub: the module's own attributes and the C type machinery.
IMPLICIT = {"__doc__", "__file__", "__loader__", "__name__", "__package__",
            "__spec__", "__module__", "__dict__", "__weakref__",
            "__weaklistoffset__", "__init__", "__new__", "__del__",
            "__repr__", "__reduce__", "__class_getitem__"}


def _stub_names():
    tree = ast.parse(STUB.read_text())
    module, classes = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign):
                    members.add(item.target.id)
            classes[node.name] = members
            module.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            module.add(node.name)
    return module, classes


def _runtime_names(ns):
    return {n for n in ns if n not in IMPLICIT}


def test_module_names():
    module, classes = _stub_names()
    stub_public = {n for n in module if n != "_Statement"}
    runtime = {n for n in dir(ext) if n not in IMPLICIT}
    assert stub_public == runtime, (
        f"missing from the stub: {sorted(runtime - stub_public)}, "
        f"not in the module: {sorted(stub_public - runtime)}")


def test_class_members():
    _module, classes = _stub_names()
    for name, members in classes.items():
        if name == "_Statement":
            continue
        cls = getattr(ext, name)
        runtime = _runtime_names(cls.__dict__)
        stub = {m for m in members if m not in IMPLICIT}
        # dunders the stub declares for typing, which the C type gets from
        # a base or a slot wrapper it does not list itself
        inherited = {m for m in stub - runtime if hasattr(cls, m)}
        assert runtime <= stub, (
            f"{name}: missing from the stub: {sorted(runtime - stub)}")
        assert stub - runtime <= inherited, (
            f"{name}: not in the module: {sorted(stub - runtime - inherited)}")


def test_statement_members():
    """The prepared-statement state that _prepare returns (not a module
    attribute) against the stub's _Statement."""
    _module, classes = _stub_names()
    import pgwire.connection  # noqa: F401  (module state with its types)
    stmt_type = next(t for t in object.__subclasses__()
                     if t.__module__ == "pgwire._pgwire"
                     and t.__name__ == "Statement")
    runtime = _runtime_names(stmt_type.__dict__)
    assert runtime == classes["_Statement"], (
        f"missing from the stub: {sorted(runtime - classes['_Statement'])}, "
        f"not at runtime: {sorted(classes['_Statement'] - runtime)}")
