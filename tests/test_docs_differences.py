"""Every deliberate difference from asyncpg that the asyncpg-suite runner
accepts (tools/asyncpg_suite/deliberate.tsv) is documented in the
"Deliberate differences" section of docs/migrating.md, checked by the
runner's own function (report.py), so a moved or reworded text fails here,
not only in the long asyncpg-suite run."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "asyncpg_suite"


def _report():
    spec = importlib.util.spec_from_file_location(
        "apgsuite_report", TOOLS / "report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_deliberate_text_is_in_migrating_page():
    report = _report()
    deliberate = report.read_table(str(TOOLS / "deliberate.tsv"), 3)
    assert deliberate, "deliberate.tsv lists no test"
    where = report.differences_lines(
        deliberate, str(ROOT / report.DIFFERENCES_PAGE))
    assert set(where) == set(deliberate)


def test_text_outside_the_section_is_refused(tmp_path):
    report = _report()
    page = tmp_path / "migrating.md"
    page.write_text("# Migrating\n\nfoo bar\n\n## Deliberate differences\n\n"
                    "- baz\n\n## Later\n\nqux\n")
    assert report.differences_lines({"t::a": ["baz", "r"]}, str(page)) == \
        {"t::a": 7}
    for text in ("foo bar", "qux"):
        with pytest.raises(SystemExit, match="is not in the"):
            report.differences_lines({"t::a": [text, "r"]}, str(page))
    page.write_text("# Migrating\n\n- baz\n")
    with pytest.raises(SystemExit, match="no '## Deliberate differences'"):
        report.differences_lines({"t::a": ["baz", "r"]}, str(page))


def test_readme_points_to_the_differences():
    readme = (ROOT / "README.md").read_text()
    assert "## Differences from asyncpg" in readme
    assert "docs/migrating.md#deliberate-differences" in readme
