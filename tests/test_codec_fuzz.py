"""A bounded, seeded fuzz run of every builtin decoder (no server).

The harness is tests/fuzz/fuzz_decoders.py (also the atheris target of
``make fuzz-decoders``): for every oid with a codec, mutated valid
encodings and random bytes go through ``_codec_decode``; only ValueError
may come out.  Deterministic for a seed, so a finding reproduces with
``python tests/fuzz/fuzz_decoders.py --random --seed S --per-oid N``.
"""

import importlib.util
import pathlib

import pytest

from pgwire import _pgwire as m

HARNESS = pathlib.Path(__file__).resolve().parent / "fuzz" / "fuzz_decoders.py"
PER_OID = 2000


def _harness():
    spec = importlib.util.spec_from_file_location("fuzz_decoders", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fd = _harness()


def test_registered_oids_cover_the_table():
    oids = fd.registered_oids(m)
    assert oids == sorted(oids) and len(oids) > 100
    for oid in (16, 23, 869, 600, 1560, 2210, 3220):
        assert oid in oids


def test_every_oid_has_seeds():
    corpus = fd.seed_corpus(m)
    assert all(seeds[0] == b"" for seeds in corpus.values())
    # the decode-only types have no encoder: b"" is their only seed
    for oid in (194, 3361, 3402, 3642, 4600, 4601, 5017):
        assert corpus[oid] == [b""], oid
    # valid encodings for (nearly) everything else, e.g.
    for oid in (16, 20, 25, 1700, 1184, 1007, 869, 650, 829, 774, 1560,
                600, 601, 602, 603, 604, 628, 718, 27, 3220, 5038, 22,
                1006, 790, 2205, 2210, 1041, 1017):
        assert len(corpus[oid]) >= 2, oid
    seeded = sum(len(seeds) >= 2 for seeds in corpus.values())
    assert seeded >= 0.9 * (len(corpus) - 7)


def test_random_inputs_only_raise_value_error():
    # bounded by the count: about 4 s for 140 oids on a normal build (not
    # asserted: the ASan build of pytest-asan is several times slower)
    findings, runs = fd.run_random(seed=20240611, per_oid=PER_OID)
    assert runs == PER_OID * len(fd.registered_oids(m)) or findings
    assert not findings, "\n".join(
        f"oid {oid}: {data!r}: {type(exc).__name__}: {exc}"
        for oid, data, exc in findings)


@pytest.mark.parametrize("oid", [2210, 1017])
def test_check_one_reports_other_exceptions(oid, monkeypatch):
    class Boom(Exception):
        pass

    class Fake:
        def _codec_decode(self, o, data):
            raise Boom("x")

    assert isinstance(fd.check_one(Fake(), oid, b""), Boom)
    assert fd.check_one(m, oid, b"\x00") is None  # ValueError: fine
