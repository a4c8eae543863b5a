"""docs/guide/extending.md is true: a new law, log format and command are each one new file plus one
registration line. The test copies the package, writes the guide's files, adds its registration lines exactly as
shown, and runs the guide's "use it" snippets against the copy, in a fresh interpreter."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from .helpers import REPO

GUIDE = REPO / "docs" / "guide" / "extending.md"
BLOCK = re.compile(r'```(\w+) title="([^"]+)"\n(.*?)```', re.S)

#: Where each registration line goes: (file, the text it follows).
ANCHORS = {"scalinglaws/laws/__init__.py": None, "scalinglaws/io/formats.py": "BUILTIN_FORMATS = (\n",
           "scalinglaws/cli/__init__.py": "COMMANDS = (\n"}


def blocks() -> list[tuple[str, str]]:
    return [(title, body) for _, title, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))]


def test_the_guide_has_a_file_a_registration_line_and_a_use_for_each_extension():
    titles = [t for t, _ in blocks()]
    new_files = [t for t in titles if t.endswith(".py") and t not in ANCHORS]
    registrations = [t for t in titles if t in ANCHORS]
    uses = [t for t in titles if t.startswith("use ")]
    assert len(new_files) == 3 and sorted(registrations) == sorted(ANCHORS) and len(uses) == 3
    for title, body in blocks():
        if title in ANCHORS:
            assert len(body.strip().splitlines()) == 1, f"{title}: the registration is one line"


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A copy of the package with the guide's files written and its registration lines added."""
    root = tmp_path_factory.mktemp("extended")
    shutil.copytree(REPO / "scalinglaws", root / "scalinglaws", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "data", root / "data")
    for title, body in blocks():
        if title in ANCHORS:
            path = root / title
            text = path.read_text(encoding="utf-8")
            anchor = ANCHORS[title]
            line = body.strip("\n") + "\n"
            assert anchor is None or anchor in text, f"{title} has no {anchor!r}"
            path.write_text(text + line if anchor is None else text.replace(anchor, anchor + line, 1),
                            encoding="utf-8")
        elif title.endswith(".py"):
            assert not (root / title).exists(), f"{title} is not a new file"
            (root / title).write_text(body, encoding="utf-8")
    return root


@pytest.mark.parametrize("use", ["use the law", "use the format", "use the command"])
def test_each_extension_works_in_the_package(extended, use):
    code = dict(blocks())[use]
    env = {**os.environ, "PYTHONPATH": str(extended), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", code], cwd=extended, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    check = subprocess.run([sys.executable, "-c", "import scalinglaws, sys; print(scalinglaws.__file__)"],
                           cwd=extended, env=env, capture_output=True, text=True)
    assert check.stdout.strip().startswith(str(extended))  # the copy was the package used
