"""Every entry point of every C type, before initialisation and after
tp_clear (issue 12, item 5).

`pgwire.Connection.__new__(pgwire.Connection).fetch('SELECT 1')` and a
connection_class whose __init__ forgets super().__init__() used to crash the
interpreter (the C core had no protocol).  tests/c_entry_sweep.py calls
every method, getter, setter and slot (iteration, await/send/throw/close,
the buffer protocol, mapping and sequence access, comparison, hash) of:
each exported type made with __new__; live objects of every C type from
ordinary use; and each of those after its tp_clear has run (the state the
cyclic GC leaves an object in).  Each scenario runs in a subprocess, so a
crash fails its test instead of ending the run; any Python exception is
fine.
"""

import json
import os
import subprocess
import sys

import pytest

import pgwire

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEP = os.path.join(HERE, "c_entry_sweep.py")
CLEARED = ["conn", "proto", "record", "record_iter", "record_items",
           "record_values", "statement", "op", "copy_op", "read_buffer",
           "codec0", "bloop", "btransport", "bfuture", "bhandle", "btask",
           "all"]


def _sweep(cluster, scenario):
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(pgwire.__file__))
    env["PYTHONPATH"] = os.pathsep.join(
        [pkg_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run(
        [sys.executable, SWEEP, scenario,
         json.dumps(cluster.connect_kwargs())],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("OK"), (
        scenario, proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    return proc.stdout


def test_types_made_with_new(cluster):
    _sweep(cluster, "new")


def test_uninitialised_connection_raises_interface_error(cluster):
    # Connection.__new__(Connection).fetch('SELECT 1') and the other query
    # methods, awaited: InterfaceError naming the cause (in a subprocess: it
    # crashed the interpreter)
    _sweep(cluster, "uninit")


def test_live_objects(cluster):
    _sweep(cluster, "live")


@pytest.mark.parametrize("which", CLEARED)
def test_after_tp_clear(cluster, which):
    _sweep(cluster, "cleared:" + which)


async def test_connection_class_without_super_init(cluster):
    class NoSuper(pgwire.Connection):
        def __init__(self, *args, **kwargs):
            self.mine = True          # forgot super().__init__()

    with pytest.raises(pgwire.InterfaceError,
                       match=r"super\(\).__init__\(\)"):
        await pgwire.connect(**cluster.connect_kwargs(),
                             connection_class=NoSuper)
