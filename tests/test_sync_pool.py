"""pgwire.sync.create_pool(): thread-safe, FIFO waiters, bounded acquire,
reset on release, refill (issue 15 item 2)."""

import threading
import time

import pytest

import pgwire.sync
from pgwire import exceptions as exc


@pytest.fixture
def pool(cluster):
    p = pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=1,
                                max_size=2)
    try:
        yield p
    finally:
        p.terminate()


def test_acquire_release_and_queries(pool):
    assert pool.get_size() == 1
    assert pool.fetchval("SELECT 1") == 1
    with pool.acquire() as c:
        assert isinstance(c, pgwire.sync.Connection)
        assert c.fetchval("SELECT 2") == 2
    assert pool.get_idle_size() >= 1


def test_reset_on_release(pool):
    with pool.acquire() as c:
        pid = c.get_server_pid()
        c.execute("SET application_name = 'dirty'")
        c.execute("SELECT pg_advisory_lock(7)")
        c.execute("BEGIN")
    with pool.acquire() as c:
        assert c.get_server_pid() == pid
        assert not c.is_in_transaction()
        assert c.fetchval("SHOW application_name") != "dirty"
        assert c.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = "
                          "'advisory' AND pid = pg_backend_pid()") == 0


def test_bounded_acquire(pool):
    a = pool.acquire().acquire()
    b = pool.acquire().acquire()
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="timeout=0.2"):
        pool.acquire(timeout=0.2).acquire()
    assert time.monotonic() - t0 < 5
    pool.release(a)
    pool.release(b)
    with pytest.raises(exc.InterfaceError, match="invalid connection"):
        pool.release(a)
    with pytest.raises(ValueError, match="timeout"):
        pool.acquire(timeout=-1).acquire()


def test_fifo_waiters(pool):
    held = [pool.acquire().acquire(), pool.acquire().acquire()]
    order = []
    started = []

    def waiter(i):
        started.append(i)
        with pool.acquire(timeout=20) as c:
            order.append(i)
            c.fetchval("SELECT 1")
    threads = []
    for i in range(4):
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        threads.append(t)
        # each waiter is queued before the next starts
        deadline = time.monotonic() + 10
        while len(pool._waiters) < i + 1:
            assert time.monotonic() < deadline
            threading.Event().wait(0.005)
    pool.release(held.pop())
    for t in threads:
        t.join(30)
    pool.release(held.pop())
    assert order == [0, 1, 2, 3]


def test_refill_after_a_lost_connection(pool, cluster):
    with pool.acquire() as c:
        pid = c.get_server_pid()
    admin = pgwire.sync.connect(**cluster.connect_kwargs())
    try:
        admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        admin.close()
    # the dead idle connection is noticed and replaced
    for _ in range(3):
        try:
            assert pool.fetchval("SELECT 1") == 1
            break
        except exc.ConnectionDoesNotExistError:
            continue
    with pool.acquire() as c:
        assert c.get_server_pid() != pid
    assert 1 <= pool.get_size() <= 2


def test_threads_under_load(pool):
    errors = []

    def work():
        try:
            for i in range(25):
                assert pool.fetchval("SELECT $1::int", i) == i
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert pool.get_size() <= 2


def test_close(cluster):
    p = pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=2,
                                max_size=2)
    c = p.acquire().acquire()
    p.close()
    with pytest.raises(exc.InterfaceError, match="closing"):
        p.acquire().acquire()
    p.release(c)
    assert c.is_closed()
    assert p.get_size() == 0


def test_arguments_checked(cluster):
    with pytest.raises(ValueError, match="min_size"):
        pgwire.sync.create_pool(**cluster.connect_kwargs(), min_size=3,
                                max_size=2)
    with pytest.raises(ValueError, match="max_queries"):
        pgwire.sync.create_pool(**cluster.connect_kwargs(), max_queries=0)
