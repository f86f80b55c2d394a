"""Protocol.get_buffer() views (issue 12, item 7).

The memoryview get_buffer() hands out used to point into the read buffer
without keeping it alive: kept across a reallocation it read and wrote
freed memory, and called from inside a decoder it moved the bytes of the
row being decoded (another column came out corrupted).  Now the buffer is
pinned while a view is exported (the core moves to a fresh block and the
old one lives as long as its views), and get_buffer()/buffer_updated()
refuse to run while received data is being processed.

The scenarios that corrupt memory on the old code run in a subprocess, so a
crash is a test failure rather than the end of the run.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pgwire import exceptions as exc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cluster, body):
    """Run `body` (the inside of an async main(conn)) in a subprocess with
    this checkout's pgwire; returns its stdout."""
    code = textwrap.dedent("""
        import asyncio, json, sys
        import pgwire
        KW = json.loads(sys.argv[1])
        async def main(conn):
        """) + textwrap.indent(textwrap.dedent(body), "    ") + \
        textwrap.dedent("""
        async def run():
            conn = await pgwire.connect(**KW)
            try:
                await main(conn)
            finally:
                await conn.close()
        asyncio.run(run())
        print("OK")
        """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [p for p in (os.path.dirname(os.path.dirname(
            __import__("pgwire").__file__)),) if p] +
        [env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(cluster.connect_kwargs())],
        capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, (proc.returncode, proc.stdout,
                                  proc.stderr[-3000:])
    assert proc.stdout.strip().endswith("OK"), proc.stdout
    return proc.stdout


def test_view_kept_across_reallocation_cannot_corrupt(cluster):
    _run(cluster, """
        proto = conn._protocol
        # the first row is larger than the buffer, so it is reallocated
        q = ("SELECT i, repeat(chr(65 + i % 26), "
             "CASE WHEN i = 1 THEN 300000 ELSE 3000 END) "
             "FROM generate_series(1, 2000) i")
        want = [chr(65 + i % 26) * (300000 if i == 1 else 3000)
                for i in range(1, 2001)]
        for round_ in range(3):
            kept = proto.get_buffer(-1)    # a view nobody releases
            n0 = len(kept)
            # a result larger than the buffer: it is grown (the old code
            # freed the block under the view)
            rows = await conn.fetch(q)
            assert [r[1] for r in rows] == want
            # malloc-sized objects, likely to reuse a freed block
            blobs = [bytes([i]) * (n0 - 64 * i) for i in range(1, 40)]
            kept[:] = bytes([255]) * n0       # write through the stale view
            assert bytes(kept[-8:]) == bytes([255]) * 8
            for i, b in enumerate(blobs, 1):
                assert b == bytes([i]) * (n0 - 64 * i), ("clobbered", i)
            del kept, blobs
            assert [r[1] for r in await conn.fetch(q)] == want
        assert await conn.fetchval("SELECT 42") == 42
    """)


def test_get_buffer_inside_decoder_cannot_corrupt(cluster):
    out = _run(cluster, """
        proto = conn._protocol
        calls = []
        def dec(text):
            try:
                v = proto.get_buffer(-1)
            except RuntimeError as e:
                calls.append(str(e))
                raise
            v[:] = b"X" * len(v)       # the old code: corrupts a column
            calls.append("got")
            return text
        await conn.set_type_codec("json", schema="pg_catalog",
                                  encoder=str, decoder=dec)
        q = ("SELECT '1'::json AS j, repeat(chr(97 + i % 26), 500) AS t, i "
             "FROM generate_series(1, 3000) i")
        try:
            rows = await conn.fetch(q)
        except Exception as e:
            print("raised", type(e).__name__, e)
        else:
            bad = [r["i"] for r in rows
                   if r["t"] != chr(97 + r["i"] % 26) * 500]
            assert not bad, ("corrupted rows", bad[:5], len(bad))
        assert calls and "while received data is being processed" in calls[0], calls
        assert await conn.fetchval("SELECT 5") == 5
    """)
    assert "raised" in out


async def test_stale_exporter_refuses_new_views(conn):
    proto = conn._protocol
    v = proto.get_buffer(-1)
    owner = v.obj
    v.release()
    # big results move the reader to other blocks
    await conn.fetch("SELECT repeat('x', 100000) FROM generate_series(1, 50)")
    try:
        m = memoryview(owner)
    except BufferError:
        pass
    else:
        assert len(m) == 0 or m.obj is owner
        m.release()
    assert await conn.fetchval("SELECT 1") == 1


async def test_buffer_updated_beyond_grant_refused(conn):
    proto = conn._protocol
    with pytest.raises(ValueError, match="offered"):
        proto.buffer_updated(1)
    with pytest.raises(ValueError, match="negative"):
        proto.buffer_updated(-1)
    v = proto.get_buffer(-1)
    with pytest.raises(ValueError, match="offered"):
        proto.buffer_updated(len(v) + 1)
    v.release()
    assert await conn.fetchval("SELECT 1") == 1


async def test_views_do_not_leak_blocks(conn):
    proto = conn._protocol
    for _ in range(20):
        v = proto.get_buffer(-1)
        v2 = proto.get_buffer(-1)      # pinned: a fresh block
        assert len(v) and len(v2)
        v2[:4] = b"abcd"
        del v, v2
    assert await conn.fetchval("SELECT 1") == 1
