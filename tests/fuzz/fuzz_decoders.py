"""Fuzz the builtin decoders of the codec layer (src/codec).

Every oid with a builtin codec gets arbitrary bytes through
``pgwire._pgwire._codec_decode(oid, data)``.  A decoder may return a value
or raise ValueError (malformed wire data); any other exception is a
finding, and so is a crash (or, under a sanitizer, any memory error).

Two drivers share the oid list and the seed corpus:

* atheris (coverage-guided, libFuzzer arguments)::

      python tests/fuzz/fuzz_decoders.py [-runs=N] [corpus_dir ...]

  The first two bytes of an input choose the oid (the oid itself, or an
  index into the sorted list of oids with a codec), the rest is the
  value.  The C code is coverage-guided only when the extension was built
  with clang's ``-fsanitize=fuzzer-no-link`` (``make fuzz-decoders``
  builds such a copy in build/fuzz-dec/cov); with a normal build atheris
  still runs, blind.
  ``--write-corpus DIR`` writes the seeds (valid encodings) there, and
  ``--replay PATH ...`` runs files (a corpus, a crash input) through the
  same check without atheris -- e.g. under an ASan build.

* a seeded mutation loop, no atheris needed (tests/test_codec_fuzz.py)::

      python tests/fuzz/fuzz_decoders.py --random [--seed S] [--per-oid N]
          [--corpus tests/fuzz/corpus/decoders]

  ``run_random(seed, per_oid)`` returns (findings, executions).
"""

import argparse
import datetime as dt
import decimal
import ipaddress
import os
import random
import struct
import sys
import uuid


def _codec_module():
    try:
        from pgwire import _pgwire
    except ImportError as exc:
        # an extension built for coverage (make fuzz-decoders) needs the
        # SanitizerCoverage callbacks, which atheris' libFuzzer has
        if "__san" not in str(exc):
            raise
        _load_libfuzzer()
        from pgwire import _pgwire
    return _pgwire


def _load_libfuzzer():
    import ctypes
    import glob
    import atheris
    core = glob.glob(os.path.join(os.path.dirname(atheris.__file__),
                                  "core_with_libfuzzer*.so"))
    if not core:
        raise ImportError("atheris has no core_with_libfuzzer")
    ctypes.CDLL(core[0], mode=os.RTLD_GLOBAL)


# ---------------------------------------------------------------------------
# Oids and seeds
# ---------------------------------------------------------------------------

MAX_OID = 10000  # builtin oids are below 10000


def registered_oids(m=None):
    """The oids with a builtin codec, sorted."""
    m = m or _codec_module()
    return [o for o in range(1, MAX_OID) if m._codec_format(o) is not None]


def _sample_values():
    from pgwire import types as pt
    return [
        True, 0, 1, -1, 2**15 - 1, 2**31 - 1, 2**63 - 1, 2**64 - 1, 1.5,
        float("-inf"), decimal.Decimal("-123.4500"), decimal.Decimal("NaN"),
        "", "a", "héllo, \"world\" \\ {x}", "NULL", b"", b"\x00\xff",
        '{"a": [1, 2]}', "$.a[*]", uuid.UUID(int=2**127 + 5),
        dt.date(2001, 2, 3), dt.time(4, 5, 6, 7),
        dt.time(1, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        dt.datetime(2001, 2, 3, 4, 5, 6, 7),
        dt.datetime(2001, 2, 3, tzinfo=dt.timezone.utc),
        dt.timedelta(days=-3, microseconds=5),
        ipaddress.ip_interface("10.1.2.3/8"), ipaddress.ip_address("::1"),
        # small networks only: networks are lazy sequences of their
        # addresses, and the array encoders list any sequence given to them
        ipaddress.ip_network("2001:db8::/126"),
        ipaddress.ip_network("10.1.2.0/30"), "08:00:2b:01:02:03",
        "08:00:2b:01:02:03:04:05", pt.BitString("10101"), (1.5, -2),
        (1, 2, 3), ((1, 2), (3, 4)), [(1, 2), (3, 4), (5, 6)],
        ((1, 2), 3), (7, 8), (10, 20, (11, 15)), [1, 2, 3],
        pt.Path((1, 2), (3, 4), is_closed=True), pt.Polygon((0, 0), (1, 1)),
    ]


def seed_corpus(m=None):
    """{oid: [bytes, ...]}: valid encodings of sample values (as scalars,
    and inside one- and two-dimensional arrays with a NULL), plus b""."""
    m = m or _codec_module()
    values = _sample_values()
    arrays = [[v, None] for v in values] + [[[v], [v]] for v in values]
    seeds = {}
    for oid in registered_oids(m):
        found = {b""}
        for v in values + arrays:
            try:
                found.add(m._codec_encode(oid, v))
            except Exception:  # noqa: BLE001 - any failure: not a seed
                pass
        seeds[oid] = sorted(found)
    return seeds


# ---------------------------------------------------------------------------
# One input
# ---------------------------------------------------------------------------

def check_one(m, oid, data):
    """Decode; None when fine, else the unexpected exception."""
    try:
        m._codec_decode(oid, data)
    except ValueError:
        pass
    except Exception as exc:  # noqa: BLE001 - this is what we look for
        return exc
    return None


# ---------------------------------------------------------------------------
# Seeded mutation loop
# ---------------------------------------------------------------------------

_INTERESTING32 = [0, 1, 2, 3, 4, 6, 8, 16, 255, 256, 0x7fff, 0x8000,
                  0xffff, 2**31 - 1, 2**31, 2**32 - 1]
_TEXT_BYTES = b'{}",\\ NULnul[]:=-0123456789abc\t\xc3\xa9\xff'


def _mutate(rng, data, seeds):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        if op == 0 and b:                       # flip a bit
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:                     # set a byte
            b[rng.randrange(len(b))] = rng.choice(
                (0, 1, 0x7f, 0x80, 0xff, rng.randrange(256)))
        elif op == 2 and len(b) >= 4:           # an interesting int32
            i = rng.randrange(len(b) - 3)
            v = rng.choice(_INTERESTING32 + [len(b), len(b) - i])
            b[i:i + 4] = struct.pack("!I", v & 0xffffffff)
        elif op == 3 and b:                     # truncate
            del b[rng.randrange(len(b)):]
        elif op == 4 and b:                     # delete a range
            i = rng.randrange(len(b))
            del b[i:i + rng.randint(1, 8)]
        elif op == 5:                           # insert bytes
            i = rng.randint(0, len(b))
            b[i:i] = bytes(rng.randrange(256)
                           for _ in range(rng.randint(1, 8)))
        elif op == 6:                           # insert text-ish bytes
            i = rng.randint(0, len(b))
            b[i:i] = bytes(rng.choice(_TEXT_BYTES)
                           for _ in range(rng.randint(1, 4)))
        elif op == 7:                           # splice another seed
            other = rng.choice(seeds)
            i = rng.randint(0, len(b))
            j = rng.randint(0, len(other))
            b = b[:i] + other[j:]
        elif op == 8 and b:                     # duplicate a chunk
            i = rng.randrange(len(b))
            chunk = b[i:i + rng.randint(1, 16)]
            b[i:i] = chunk
        else:                                   # append random bytes
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(b)


def _random_input(rng, seeds):
    r = rng.random()
    if r < 0.1:                                 # plain random bytes
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    if r < 0.15:                                # random text-ish bytes
        return bytes(rng.choice(_TEXT_BYTES)
                     for _ in range(rng.randint(0, 30)))
    return _mutate(rng, rng.choice(seeds), seeds)


def load_corpus(paths, corpus):
    """Add the files under paths (fuzz_decoders layout: 2-byte oid, then
    the value; e.g. the recorded values in tests/fuzz/corpus/decoders) to
    corpus {oid: [bytes, ...]} for the oids it has."""
    for path in paths:
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            with open(os.path.join(path, name), "rb") as fh:
                data = fh.read()
            if len(data) >= 2:
                oid = data[0] << 8 | data[1]
                if oid in corpus and data[2:] not in corpus[oid]:
                    corpus[oid].append(data[2:])
    return corpus


def run_random(seed=0, per_oid=2000, oids=None, max_findings=20,
               corpus_dirs=()):
    """Decode per_oid mutated inputs for every oid (or the given ones),
    deterministically for a seed (and the corpus_dirs' files).  Returns
    [(oid, data, exception), ...] (at most max_findings) and the number of
    executions."""
    m = _codec_module()
    corpus = load_corpus(corpus_dirs, seed_corpus(m))
    findings = []
    runs = 0
    for oid in (oids or sorted(corpus)):
        rng = random.Random(seed * 1000003 + oid)
        seeds = corpus[oid]
        for _ in range(per_oid):
            data = _random_input(rng, seeds)
            runs += 1
            exc = check_one(m, oid, data)
            if exc is not None:
                findings.append((oid, data, exc))
                if len(findings) >= max_findings:
                    return findings, runs
    return findings, runs


# ---------------------------------------------------------------------------
# atheris driver
# ---------------------------------------------------------------------------

def _write_corpus(path):
    os.makedirs(path, exist_ok=True)
    corpus = seed_corpus()
    n = 0
    for oid, seeds in corpus.items():
        for i, s in enumerate(seeds):
            with open(os.path.join(path, f"{oid}-{i}"), "wb") as f:
                f.write(struct.pack("!H", oid) + s)
            n += 1
    print(f"wrote {n} seeds for {len(corpus)} oids to {path}")


def _one_input_checker(m, oids):
    """The libFuzzer entry point: 2 bytes choose the oid (the oid itself
    when it has a codec, else an index into oids), the rest is the value;
    an unexpected exception propagates (a finding)."""
    known = set(oids)

    def one_input(data):
        if len(data) < 2:
            return
        oid = data[0] << 8 | data[1]
        if oid not in known:
            oid = oids[oid % len(oids)]
        exc = check_one(m, oid, data[2:])
        if exc is not None:
            raise AssertionError(
                f"_codec_decode({oid}, {data[2:]!r}) raised "
                f"{type(exc).__name__}: {exc}") from exc
    return one_input


def _atheris_main(argv):
    # atheris loads libFuzzer (with the SanitizerCoverage callbacks) only in
    # Fuzz(): an instrumented extension can be imported only after that,
    # with its symbols global -- so the first input imports it.
    sys.setdlopenflags(sys.getdlopenflags() | os.RTLD_GLOBAL)
    import atheris
    state = {}

    def one_input(data):
        check = state.get("check")
        if check is None:
            m = _codec_module()
            check = state["check"] = _one_input_checker(
                m, registered_oids(m))
            print(f"fuzz_decoders: {m.__file__}, "
                  f"{len(registered_oids(m))} oids", file=sys.stderr)
        check(data)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def _replay(paths):
    """Run every file under the given files/directories through the
    decoders, as the atheris driver does; the number of findings."""
    m = _codec_module()
    check = _one_input_checker(m, registered_oids(m))
    n = bad = 0
    for path in paths:
        files = ([os.path.join(path, f) for f in sorted(os.listdir(path))]
                 if os.path.isdir(path) else [path])
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            n += 1
            try:
                check(data)
            except AssertionError as exc:
                bad += 1
                print(f"{f}: {exc}")
    print(f"replayed {n} inputs, {bad} findings")
    return bad


def main():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--random", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-oid", type=int, default=2000)
    p.add_argument("--corpus", action="append", default=[],
                   help="--random: also mutate the values in this dir")
    p.add_argument("--write-corpus")
    p.add_argument("--replay", action="store_true")
    args, rest = p.parse_known_args()
    if args.write_corpus:
        _write_corpus(args.write_corpus)
        return 0
    if args.replay:
        return 1 if _replay(rest) else 0
    if args.random:
        findings, runs = run_random(args.seed, args.per_oid,
                                    corpus_dirs=args.corpus)
        print(f"{runs} executions, {len(findings)} findings")
        for oid, data, exc in findings:
            print(f"  oid {oid}: {data!r}: {type(exc).__name__}: {exc}")
        return 1 if findings else 0
    _atheris_main([sys.argv[0]] + rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
