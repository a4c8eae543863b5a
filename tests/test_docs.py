"""The documentation site builds with MkDocs in strict mode (any warning fails), and its generated pages hold
every registered law and every command."""

import os
import subprocess
import sys

import pytest

import scalinglaws as sl
from scalinglaws.cli import cli

from .helpers import REPO


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs tools come with the dev extra")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "DISABLE_MKDOCS_2_WARNING": "true", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_docs_build_without_warnings(site):
    assert (site / "index.html").exists() and (site / "reference" / "api" / "index.html").exists()


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
