"""Build of the pgwire C extension.

Environment knobs:
  PGWIRE_SANITIZE=1   build with -O1 -g -fsanitize=address,undefined
  PGWIRE_DEBUG=1      build with -O0 -g
  PGWIRE_NO_WERROR=1  do not turn warnings into errors
  PGWIRE_TEST_HOOKS=1 compile in the test hooks of src/ext/codec_debug.c
                      (_codec_decode, _make_record, ...): `make so` and
                      the test builds set it; a wheel leaves them out
"""
import glob
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


TEST_HOOKS = os.environ.get("PGWIRE_TEST_HOOKS") == "1"


def _sources():
    out = []
    for layer in ("core", "codec", "ext"):
        out += sorted(glob.glob(os.path.join("src", layer, "*.c")))
    if not TEST_HOOKS:
        out.remove(os.path.join("src", "ext", "codec_debug.c"))
    return out


cflags = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Wshadow",
    "-Wvla",
    "-Wformat=2",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wno-missing-field-initializers",
    "-fno-strict-overflow",
]
if not os.environ.get("PGWIRE_NO_WERROR"):
    cflags.append("-Werror")
ldflags = []
if os.environ.get("PGWIRE_SANITIZE"):
    cflags += ["-O1", "-g", "-fsanitize=address,undefined",
               "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined",
               "-UNDEBUG"]
    ldflags += ["-fsanitize=address,undefined"]
elif os.environ.get("PGWIRE_DEBUG"):
    cflags += ["-O0", "-g", "-UNDEBUG"]
else:
    cflags += ["-O2"]

setup(
    ext_modules=[
        Extension(
            "pgwire._pgwire",
            sources=_sources(),
            include_dirs=["src"],
            define_macros=[("PGWIRE_TEST_HOOKS", "1")] if TEST_HOOKS else [],
            depends=glob.glob("src/*/*.h"),
            extra_compile_args=cflags,
            extra_link_args=ldflags,
        )
    ],
)
