"""The documentation site builds with MkDocs in strict mode (any warning fails), and its generated pages hold
every registered law and every command."""

import os
import subprocess
import sys

import pytest

import scalinglaws as sl
from scalinglaws.cli import cli

from .helpers import REPO


#: Phrases of the third-party banners some releases of the docs tools print on every build (Material for MkDocs'
#: end-of-life notice, a plugin's "MkDocs 2.0" warning); pyproject.toml pins releases without them.
BANNERS = ("end of life", "MkDocs 2.0", "version 2", "ProperDocs", "Zensical", "MKDOCS_2_WARNING")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The site built as a newcomer builds it: ``mkdocs build`` with no variable that silences banners."""
    pytest.importorskip("mkdocs", reason="the docs tools come with the dev extra")
    out = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if k not in ("DISABLE_MKDOCS_2_WARNING", "NO_MKDOCS_2_WARNING")}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout + done.stderr


@pytest.fixture(scope="module")
def site(build):
    return build[0]


def test_docs_build_without_warnings(site):
    assert (site / "index.html").exists() and (site / "reference" / "api" / "index.html").exists()


def test_docs_build_prints_no_banner(build):
    output = build[1]
    assert not [b for b in BANNERS if b.lower() in output.lower()], output[:3000]
    assert all(line.startswith("INFO") for line in output.strip().splitlines()), output[:3000]


def test_every_notebook_is_shown_with_its_figures(site):
    """Each notebook is a page of the site, with the outputs it is stored with (its figures as images)."""
    import json

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        page = site / "notebooks" / path.stem / "index.html"
        assert page.exists(), path.name
        text = page.read_text(encoding="utf-8")
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        images = sum("image/png" in out.get("data", {}) for c in cells if c["cell_type"] == "code"
                     for out in c.get("outputs", []))
        assert all(c.get("outputs") or not "".join(c["source"]).strip()
                   for c in cells if c["cell_type"] == "code" and "plt.show()" in "".join(c["source"])), path.name
        assert text.count("data:image/png;base64,") >= images, path.name
    figures = sum(text.count("data:image/png;base64,") for text in
                  (p.read_text(encoding="utf-8") for p in (site / "notebooks").glob("*/index.html")))
    assert figures >= 5


def test_guide_links_the_figures_and_report_page(site):
    page = (site / "guide" / "report" / "index.html").read_text(encoding="utf-8")
    assert "plot_loss_frontier" in page and "report.html" in page and 'id="the-report"' in page


def test_law_reference_lists_every_registered_law(site):
    page = (site / "reference" / "laws" / "index.html").read_text(encoding="utf-8")
    for name in sl.available_laws():
        law = sl.get_law(name)
        assert f"<code>{law.name}</code>" in page, name
        for param in law.param_names:
            assert f"<code>{param}</code>" in page, (name, param)


def test_cli_reference_documents_every_command(site):
    page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in cli.commands:
        assert f"scalinglaws {command} [OPTIONS]" in page, command
    assert "--format" in page
