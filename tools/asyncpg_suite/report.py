"""Summarise an asyncpg-suite run (scripts/asyncpg-suite.sh).

Reads the per-test outcomes written by apgsuite_plugin.py and the tables
beside this file:

internal.tsv    test id <TAB> private asyncpg attribute it needs <TAB> reason
                Tests that reach into asyncpg's internals.  They are not
                part of the public-API count, whatever their outcome.
deliberate.tsv  test id <TAB> text of docs/migrating.md that documents
                the difference <TAB> reason
                Failures that are documented differences from asyncpg:
                counted as not passing, listed as deliberate (with the line
                of docs/migrating.md where that text is; a text that is not
                in that page's "Deliberate differences" section is an
                error).
passing.txt     the baseline: ids of the tests that passed when it was
                last written (--update-baseline).

Prints per module the counts and every failure classified as internal,
deliberate or gap, then the last line ``N/M asyncpg public-API tests pass``
(M: tests that ran, neither skipped nor internal; N: those that passed).
Exits 1 when a baseline test did not pass (a regression) or the run was
incomplete.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

CLASSES = ("passed", "gap", "deliberate", "internal", "skipped")


def read_table(path: str, ncols: int) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    if not os.path.exists(path):
        return table
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != ncols:
                raise SystemExit(f"{path}:{lineno}: expected {ncols} "
                                 f"tab-separated columns, got {len(cols)}")
            if cols[0] in table:
                raise SystemExit(f"{path}:{lineno}: {cols[0]} listed twice")
            table[cols[0]] = cols[1:]
    return table


def read_baseline(path: str) -> set[str]:
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {ln.strip() for ln in f
                if ln.strip() and not ln.startswith("#")}


def read_results(path: str) -> dict[str, dict]:
    results: dict[str, dict] = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                results[rec["id"]] = rec        # each test once
    return results


def module_of(test_id: str) -> str:
    return os.path.basename(test_id.split("::")[0]).removesuffix(".py")


def one_line(text: str, width: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[:width - 3] + "..."


DIFFERENCES_PAGE = os.path.join("docs", "migrating.md")
DIFFERENCES_HEADING = "## Deliberate differences"


def differences_lines(deliberate: dict, page: str) -> dict[str, int]:
    """Line of docs/migrating.md, in its "Deliberate differences" section,
    of each deliberate difference's documenting text."""
    with open(page) as f:
        lines = f.read().splitlines()
    try:
        start = lines.index(DIFFERENCES_HEADING)
    except ValueError:
        raise SystemExit(f"{page}: no {DIFFERENCES_HEADING!r} heading") \
            from None
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("#")), len(lines))
    where = {}
    for tid, (text, _reason) in deliberate.items():
        for lineno in range(start + 1, end + 1):
            if text in lines[lineno - 1]:
                where[tid] = lineno
                break
        else:
            raise SystemExit(f"deliberate.tsv: {tid}: {text!r} is not in "
                             f"the {DIFFERENCES_HEADING!r} section of {page}")
    return where


def classify(rec: dict, internal: dict, deliberate: dict,
             doc_at: dict) -> tuple[str, str]:
    tid, outcome = rec["id"], rec["outcome"]
    if outcome == "skipped":
        return "skipped", one_line(rec.get("message", ""))
    if tid in internal:
        attr, reason = internal[tid]
        detail = f"{attr} ({outcome}): {reason}"
        if outcome == "failed":
            detail += f" -- fails with: {one_line(rec.get('message', ''))}"
        return "internal", detail
    if outcome == "passed":
        return "passed", ""
    if tid in deliberate:
        text, reason = deliberate[tid]
        return "deliberate", (f"{DIFFERENCES_PAGE}:{doc_at[tid]} "
                              f"({text}): {reason}")
    return "gap", "; ".join(one_line(f, 200) for f in rec.get("failures") or
                            [rec.get("message", "")])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--tools", default=os.path.dirname(__file__))
    ap.add_argument("--json")
    ap.add_argument("--elapsed", type=int, default=None)
    ap.add_argument("--update-baseline", action="store_true")
    ap.add_argument("--incomplete", action="store_true",
                    help="the pytest run did not finish")
    ap.add_argument("--partial", action="store_true",
                    help="a selection of the tests ran: judge only those")
    args = ap.parse_args()

    internal = read_table(os.path.join(args.tools, "internal.tsv"), 3)
    deliberate = read_table(os.path.join(args.tools, "deliberate.tsv"), 3)
    doc_at = differences_lines(deliberate, os.path.join(
        args.tools, "..", "..", DIFFERENCES_PAGE))
    baseline_path = os.path.join(args.tools, "passing.txt")
    baseline = read_baseline(baseline_path)
    results = read_results(args.results)
    if not results:
        print("asyncpg-suite: no test results", file=sys.stderr)
        return 1

    tests = []
    modules: dict[str, dict[str, int]] = {}
    for tid in sorted(results):
        rec = results[tid]
        cls, detail = classify(rec, internal, deliberate, doc_at)
        tests.append({"id": tid, "outcome": rec["outcome"], "class": cls,
                      "detail": detail, "message": rec.get("message", ""),
                      "where": rec.get("where", ""),
                      "failures": rec.get("failures", []),
                      "duration": round(rec.get("duration", 0.0), 3)})
        counts = modules.setdefault(module_of(tid), dict.fromkeys(
            ("tests",) + CLASSES, 0))
        counts["tests"] += 1
        counts[cls] += 1

    hdr = ("module", "tests", "passed", "failed", "gap", "deliberate",
           "internal", "skipped")
    print("\nasyncpg 0.32.0 test suite against pgwire, per module "
          "(failed = gap + deliberate; internal and skipped are not counted)")
    print(f"{hdr[0]:<26}" + "".join(f"{h:>11}" for h in hdr[1:]))
    def print_row(name: str, c: dict[str, int]) -> None:
        row = (c["tests"], c["passed"], c["gap"] + c["deliberate"], c["gap"],
               c["deliberate"], c["internal"], c["skipped"])
        print(f"{name:<26}" + "".join(f"{v:>11}" for v in row))

    total = dict.fromkeys(("tests",) + CLASSES, 0)
    for mod in sorted(modules):
        for k in total:
            total[k] += modules[mod][k]
        print_row(mod, modules[mod])
    print_row("total", total)

    for cls, title in (("gap", "gaps (public API, not a documented "
                        "difference)"),
                       ("deliberate", "deliberate differences"),
                       ("internal", "internal (private asyncpg attributes; "
                        "tools/asyncpg_suite/internal.tsv)"),
                       ("skipped", "skipped")):
        rows = [t for t in tests if t["class"] == cls]
        if rows:
            print(f"\n{title}: {len(rows)}")
            for t in rows:
                print(f"  {t['id']}\n      {t['detail']}")

    stale = sorted(set(internal) - set(results)) + \
        sorted(set(deliberate) - set(results))
    if stale and not (args.incomplete or args.partial):
        print("\nclassification tables list tests that did not run "
              "(renamed or removed?):")
        for tid in stale:
            print(f"  {tid}")
    passing_deliberate = [t for t in deliberate if
                          results.get(t, {}).get("outcome") == "passed"]
    if passing_deliberate:
        print("\nlisted in deliberate.tsv but passing (remove them):")
        for tid in passing_deliberate:
            print(f"  {tid}")

    passed = {t["id"] for t in tests if t["outcome"] == "passed"}
    regressions = sorted(tid for tid in baseline if tid not in passed and
                         (tid in results or not args.partial))
    newly = sorted(passed - baseline)
    status = 0
    if args.update_baseline:
        if args.incomplete or args.partial:
            print("\nasyncpg-suite: the run was incomplete or partial; "
                  "baseline not updated")
            status = 1
        else:
            with open(baseline_path, "w") as f:
                f.write("# asyncpg 0.32.0 tests that pass against pgwire; "
                        "written by scripts/asyncpg-suite.sh "
                        "--update-baseline\n")
                f.writelines(tid + "\n" for tid in sorted(passed))
            print(f"\nbaseline rewritten: {len(passed)} tests "
                  f"({baseline_path})")
    else:
        if newly:
            print(f"\nnewly passing (not in the baseline; raise it with "
                  f"--update-baseline): {len(newly)}")
            for tid in newly:
                print(f"  {tid}")
        if regressions:
            print(f"\nREGRESSIONS: {len(regressions)} baseline test(s) did "
                  "not pass:")
            for tid in regressions:
                rec = results.get(tid)
                why = (f"{rec['outcome']}: {one_line(rec.get('message', ''))}"
                       if rec else "did not run")
                print(f"  {tid}\n      {why}")
            status = 1
    if args.incomplete:
        print("\nasyncpg-suite: the pytest run did not complete")
        status = 1

    public = total["tests"] - total["internal"] - total["skipped"]
    summary = {
        "asyncpg_version": "0.32.0",
        "elapsed_seconds": args.elapsed,
        "complete": not args.incomplete, "partial": args.partial,
        "public_passed": total["passed"], "public_total": public,
        "totals": total, "modules": modules,
        "regressions": regressions, "newly_passing": newly,
        "tests": tests,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
        print(f"\nresult: {args.json}")
    print(f"{total['passed']}/{public} asyncpg public-API tests pass")
    return status


if __name__ == "__main__":
    sys.exit(main())
