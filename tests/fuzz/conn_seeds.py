"""Write the seed corpus of fuzz_conn (tests/fuzz/corpus/conn).

Each seed: [q] [q request bytes] [k] [k chunk sizes] [server stream], the
layout fuzz_conn.c reads; the streams are the unit-test streams of
tests/c/test_conn.c in the same notation.  Run: python3 conn_seeds.py DIR
"""
import struct
import sys


def msg(t, body=b""):
    return t.encode() + struct.pack("!i", len(body) + 4) + body


def token(tok):
    t, _, arg = tok.partition(":")
    arg = arg.replace("_", " ").encode()
    if t == "t":
        return msg(t, struct.pack("!hI", 1, 23))
    if t == "T":
        return msg(t, struct.pack("!h", 1) + b"a\0" +
                   struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0))
    if t == "D":
        return msg(t, struct.pack("!hi", 1, len(arg)) + arg)
    if t == "C":
        return msg(t, arg + b"\0")
    if t == "d":
        return msg(t, arg)
    if t == "Z":
        return msg(t, arg[:1])
    if t in "EN":
        return msg(t, b"SERROR\0C42P01\0Mboom\0\0")
    if t == "A":
        return msg(t, struct.pack("!i", 77) + arg + b"\0payload\0")
    if t == "S":
        k, _, v = arg.partition(b"=")
        return msg(t, k + b"\0" + v + b"\0")
    if t in "HGW":
        return msg(t, struct.pack("!bhh", 0, 1, 0))
    return msg(t)


def stream(spec):
    return b"".join(token(x) for x in spec.split())


# request kinds (fuzz_conn.c push_one): 0 simple, 1 simple no-copy,
# 2 prepare, 3 exec, 4 exec no sync, 5 unnamed, 6 executemany (count in
# bits 4-5), 7 close+prepare, 8 cursor, 9 cursor fetch, 10 copy in,
# 11 copy out, 12 sync
SEEDS = {
    "simple": ([0], "T D:1 C:SELECT_1 Z:I"),
    "simple_multi": ([0], "T D:1 C:SELECT_1 T D:2 C:SELECT_1 C:SET Z:T"),
    "prepare": ([2], "1 t T Z:I"),
    "exec": ([3], "2 D:x D:y C:SELECT_2 Z:I"),
    "unnamed": ([5], "1 2 T D:1 C:SELECT_1 Z:I"),
    "many": ([6 | 0x20], "1 2 C:I 2 C:I 2 C:I Z:I"),
    "close": ([7], "3 1 t n Z:I"),
    "cursor": ([8, 9], "2 D:1 D:2 s Z:T D:3 C:SELECT_1 Z:T"),
    "copy_in": ([10], "1 2 G C:COPY_1 Z:I"),
    "copy_out": ([11], "1 2 H d:a c C:COPY_1 Z:I"),
    "batch": ([4, 4, 12, 3], "2 C:X 2 C:Y Z:T 2 C:Z Z:I"),
    "batch_error": ([4, 4, 12, 3], "E Z:I 2 C:Z Z:I"),
    "pipeline": ([1, 5, 2, 3],
                 "C:RESET Z:I 1 2 T D:1 C:S Z:I 1 t T Z:I 2 D:q C:S Z:I"),
    "abandon": ([3, 3 | 0x80, 3],
                "2 D:a C:S Z:I 2 D:b C:S Z:I 2 D:c C:S Z:I"),
    "async": ([3], "S:a=b 2 A:ch D:x N C:S Z:I"),
    "late_push": ([4, 12 | 0x40], "E Z:I"),
    "copy_in_slow_error": ([10 | 0x20], "1 2 G E Z:I"),
    "copy_in_slow": ([10 | 0x20], "1 2 G C:COPY_1 Z:I"),
    "copy_in_batch": ([10 | 0x10], "1 2 G C:COPY_1 Z:I"),
}


def main(out):
    for name, (reqs, spec) in SEEDS.items():
        body = stream(spec)
        for k, chunks in (("whole", []), ("bytes", [0]), ("odd", [2, 6, 10])):
            data = bytes([len(reqs)] + reqs + [len(chunks)] + chunks) + body
            with open(f"{out}/{name}_{k}", "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
