"""`mypy --strict` on the package and on tests/typing/check_types.py (the
assert_type checks of the typed faces), run as CI runs it: from the
repository root, without PYTHONPATH (with it, mypy treats pgwire as an
installed package and hides its errors), so the sources checked are this
tree's."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _mypy(*args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "MYPYPATH")}
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         *args], cwd=ROOT, env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("target", [("-p", "pgwire"),
                                    ("tests/typing/check_types.py",)],
                         ids=["package", "assert_type"])
def test_mypy_strict(target):
    rc, out = _mypy(*target)
    assert rc == 0, "mypy --strict {} failed:\n{}".format(
        " ".join(target), out)
