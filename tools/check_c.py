#!/usr/bin/env python3
"""Function-length check for the C sources (issue 17 item 6).

Every function defined in src/ (house style: the name at the start of a
line, the opening brace alone in column 0, the closing brace in column 0)
may have at most MAX_LINES lines between its braces.  Longer functions
must be listed in ALLOWLIST below with a reason; an entry that is no
longer needed (the function is gone or short enough) is an error too, so
the list only shrinks.

    python3 tools/check_c.py            # check; exit 1 with file:line
    python3 tools/check_c.py --list     # every function over the limit
    python3 tools/check_c.py --cpythons # also compile src/ against the
                                        # headers of every CPython >= 3.11
                                        # found (this one, pyenv's)

--cpythons needs no setuptools in the other interpreters: it asks each for
its include directory and runs the compiler with -fsyntax-only and the
warning set of setup.py (-Werror), so a deprecated API (PyWeakref_GetObject
on 3.13 broke the build that way) fails here, in about 10 s per version.
"""

from __future__ import annotations

import glob
import os
import pathlib
import re
import shutil
import subprocess
import sys

MAX_LINES = 80
ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# "path:function": reason.  src/core has no entry: shorten it instead.
ALLOWLIST: dict[str, str] = {
}

_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path: pathlib.Path):
    """(name, line of '{', number of lines between the braces)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].rstrip() == "{" and i > 0:
            # the signature: back to the line that starts with the name
            j = i - 1
            while j > 0 and not _NAME.match(lines[j]) and \
                    not lines[j][:1].isalpha():
                j -= 1
            m = _NAME.match(lines[j]) or _NAME.search(lines[j])
            k = i + 1
            while k < len(lines) and not lines[k].startswith("}"):
                k += 1
            if m and not lines[j].lstrip().startswith(("typedef", "struct",
                                                       "enum", "union")) \
                    and "=" not in lines[j]:
                yield m.group(1), i + 1, k - i - 1
            i = k + 1
            continue
        i += 1


# setup.py's warning set (keep in step with it)
SETUP_CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wshadow", "-Wvla",
                "-Wformat=2", "-Wstrict-prototypes", "-Wmissing-prototypes",
                "-Wno-missing-field-initializers", "-fno-strict-overflow",
                "-Werror"]


def cpythons() -> dict[str, str]:
    """{"3.N": interpreter} for this interpreter and every pyenv CPython
    3.11 or later (the newest patch release of each minor version)."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for exe in sorted(glob.glob(os.path.join(root, "versions", "3.*",
                                             "bin", "python3"))):
        m = re.search(r"versions/(3)\.(\d+)\.\d+/bin", exe)
        if m and int(m.group(2)) >= 11:
            found[f"3.{m.group(2)}"] = exe
    return found


def compile_against(minor: str, exe: str) -> list[str]:
    inc = subprocess.run(
        [exe, "-c", "import sysconfig; print(sysconfig.get_paths()"
                    "['include'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    bad = []
    for src in sorted(SRC.glob("*/*.c")):
        r = subprocess.run([cc, *SETUP_CFLAGS, "-fsyntax-only", "-Isrc",
                            f"-I{inc}", str(src.relative_to(ROOT))],
                           cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            bad.append(f"CPython {minor} ({inc}):\n{r.stderr.strip()}")
    return bad


def main(argv: list[str]) -> int:
    listing = "--list" in argv
    bad = []
    seen = set()
    for path in sorted(SRC.rglob("*.[ch]")):
        rel = path.relative_to(ROOT).as_posix()
        for name, line, n in functions(path):
            if n <= MAX_LINES:
                continue
            key = f"{rel}:{name}"
            if listing:
                print(f"{rel}:{line}: {name}: {n} lines")
                continue
            if key in ALLOWLIST:
                seen.add(key)
                continue
            bad.append(f"{rel}:{line}: {name} has {n} lines "
                       f"(limit {MAX_LINES}); shorten it or add it to "
                       f"ALLOWLIST in tools/check_c.py with a reason")
    if listing:
        return 0
    for key in sorted(set(ALLOWLIST) - seen):
        bad.append(f"tools/check_c.py: allowlisted {key} is gone or within "
                   f"{MAX_LINES} lines: remove the entry")
    if "--cpythons" in argv:
        versions = cpythons()
        for minor, exe in sorted(versions.items()):
            bad += compile_against(minor, exe)
        print(f"check_c: src/ compiled against CPython "
              f"{', '.join(sorted(versions))}")
    for b in bad:
        print(b)
    if not bad:
        print(f"check_c: every C function in src/ is within {MAX_LINES} "
              f"lines ({len(ALLOWLIST)} allowlisted)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
