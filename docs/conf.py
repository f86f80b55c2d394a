"""Sphinx configuration of pgwire's documentation (scripts/docs.sh).

The pages are Markdown (MyST); the API reference is autodoc over the
package, which imports the built extension: build it first (`make so`).
"""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

import pgwire  # noqa: E402  (fails loudly if the extension is not built)
import pgwire._pgwire  # noqa: E402,F401

project = "pgwire"
author = "the pgwire authors"
copyright = "2026, the pgwire authors"
release = version = pgwire.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "requirements.txt"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_typehints = "none"

html_theme = "alabaster"
html_title = f"pgwire {release}"
html_static_path = []


# Pages that stay readable on their own (docs/ARCHITECTURE.md) link to
# ../tests/README.md; in the site that file is the page `testing`.
_LINKS = {"](../tests/README.md)": "](testing.md)"}


def _rewrite_links(app, docname, source):
    for old, new in _LINKS.items():
        source[0] = source[0].replace(old, new)


def setup(app):
    app.connect("source-read", _rewrite_links)
