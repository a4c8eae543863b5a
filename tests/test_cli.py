"""The command line: the main job end to end, and one clear line with exit code 2 for every bad input."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

import numpy as np
import pandas as pd

import scalinglaws as sl
from scalinglaws.laws import CurveLaw

from .helpers import DATA, run_cli as run


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"scalinglaws {sl.__version__}"


def test_console_script_is_installed():
    exe = shutil.which("scalinglaws", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    assert exe, "the scalinglaws console script is not on PATH"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"scalinglaws {sl.__version__}"


def test_fit_on_bundled_chinchilla_points(capsys, tmp_path):
    src = DATA / "chinchilla_epoch.csv"
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    out_json, out_png = tmp_path / "fit.json", tmp_path / "fit.png"
    code, out, err = run(capsys, "fit", src, "--out", out_json, "--plot", out_png)
    assert code == 0, err
    assert "245 rows" in out and "5 rows excluded by column 'excluded_by_epoch'" in out
    for needle in ("E ", "alpha", "std err", "converged", "R^2", "Compute-optimal allocation", "tokens/param"):
        assert needle in out, needle
    result = sl.load(out_json)
    assert result.params["alpha"] == pytest.approx(0.3473, rel=1e-3)
    assert out_png.stat().st_size > 10_000 and out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json", "fit.png"]  # no temp files left


def test_fit_with_column_mapping_and_budgets(capsys, tmp_path):
    path = tmp_path / "runs.csv"
    text = (DATA / "example_points.csv").read_text().replace("params", "nonemb")
    path.write_text(text)
    code, out, err = run(capsys, "fit", path, "--col", "N=nonemb", "--budgets", "1e21,1e23")
    assert code == 0, err
    assert "columns N <- nonemb, D <- tokens, loss <- val_loss" in out and "1e+21" in out and "1e+23" in out and "1e+25" not in out


def test_laws_command(capsys):
    code, out, _ = run(capsys, "laws")
    assert code == 0 and "chinchilla: L = E + A/N^alpha + B/D^beta" in out


BAD_INPUTS = {
    "missing_column": ("N,loss\n1e9,2.5\n", "missing column 'D'"),
    "text_in_number": ("N,D,loss\n1e9,1e10,2.5\n2e9,lots,2.4\n", "line 3, column 'D': 'lots' is not a number"),
    "nan": ("N,D,loss\n1e9,1e10,2.5\n2e9,2e10,nan\n", "line 3, column 'loss': value is missing or NaN"),
    "negative_n": ("N,D,loss\n1e9,1e10,2.5\n-2e9,2e10,2.4\n", "line 3, column 'N': the parameter count N must be positive"),
    "empty": ("", "file is empty"),
    "header_only": ("N,D,loss\n", "no data rows"),
    "ragged": ("N,D,loss\n1e9,1e10,2.5\n2e9,2e10,2.4,7\n", "line 3: expected 3 fields, saw 4"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_and_exit_2(capsys, tmp_path, name):
    content, message = BAD_INPUTS[name]
    path = tmp_path / "runs.csv"
    path.write_text(content)
    code, out, err = run(capsys, "fit", path)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("scalinglaws: error: ") and message in err, err
    assert "Traceback" not in err and str(path) in err


@pytest.mark.parametrize("seed", range(8))
def test_binary_garbage(capsys, tmp_path, seed):
    path = tmp_path / "runs.csv"
    garbage = np.random.default_rng(seed).bytes(64)
    path.write_bytes(garbage[:20] + b"\n" + garbage[20:] + b"\x00" * 16)  # a newline must not hide the NULs
    code, _, err = run(capsys, "fit", path)
    assert code == 2 and err.count("\n") == 1 and "binary content" in err


@pytest.mark.parametrize("args, message", [
    (["fit", "does/not/exist.csv"], "does/not/exist.csv: file not found; check the path"),
    (["fit", "{data}", "--law", "nope"], "unknown law 'nope'"),
    (["fit", "{data}", "--col", "N"], "'N' is not CANONICAL=COLUMN"),
    (["fit", "{data}", "--col", "X=N"], "unknown table column 'X'"),
    (["fit", "{data}", "--budgets", "-1e21"], "'-1e21' must be a positive finite number"),
    (["fit", "{data}", "--budgets", "lots"], "'lots' is not a number"),
    (["fit", "{data}", "--out", "{tmp}/no/such/dir/fit.json"], "does not exist; create it first"),
    (["fit", "{data}", "--out", "{data}"], "is an input of this command"),
    (["fit", "{data}", "--plot", "{tmp}/fit.gif"], "use a .png, .svg or .pdf"),
    (["fit", "{data}", "--loss", "cauchy"], "Invalid value for '--loss'"),
    (["fit", "{data}", "--delta", "-1"], "'-1' must be a positive finite number"),
    (["fit"], "Missing argument 'FILE'"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_bad_arguments_give_one_line_and_exit_2(capsys, tmp_path, args, message):
    data = tmp_path / "runs.csv"
    shutil.copy(DATA / "example_points.csv", data)
    before = data.read_bytes()
    code, _, err = run(capsys, *[a.format(data=data, tmp=tmp_path) for a in args])
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert data.read_bytes() == before


def test_result_json_is_readable(capsys, tmp_path):
    out_json = tmp_path / "fit.json"
    code, _, err = run(capsys, "fit", DATA / "example_points.csv", "--out", out_json)
    assert code == 0, err
    lines = out_json.read_text().splitlines()
    assert lines[1] == '"format": "scalinglaws.FitResult",'
    assert json.loads(out_json.read_text())["diagnostics"]["converged"] is True


def _curves_file(name: str, path) -> None:
    """A curves log of a curve-law example: every step's learning rate, the loss at the example's steps."""
    from .test_zoo import EXAMPLES, _data

    example, data = EXAMPLES[name], _data(name, 0.001)
    names = list(example.schedules)
    frames = []
    for keys, rows in data.groupby(["run_index", "N"] if "N" in data else ["run_index"]):
        keys = keys if isinstance(keys, tuple) else (keys,)
        schedule = example.schedules[names[int(keys[0])]]
        frame = pd.DataFrame({"step": np.arange(schedule.steps), "lr": schedule.lr})
        frame = frame.merge(rows[["step", "loss"]], on="step", how="left")
        frame["run"] = names[int(keys[0])] + (f"-{keys[1]:g}" if len(keys) > 1 else "")
        if len(keys) > 1:
            frame["N"] = keys[1]
        frames.append(frame)
    pd.concat(frames).to_csv(path, index=False)


@pytest.mark.parametrize("name", sorted(sl.available_laws()))
def test_fit_every_law_from_a_file(capsys, tmp_path, name):
    from .test_zoo import _data

    path = tmp_path / "runs.csv"
    if isinstance(sl.get_law(name), CurveLaw):
        _curves_file(name, path)
    else:
        _data(name, 0.001).to_csv(path, index=False)
    code, out, err = run(capsys, "fit", path, "--law", name, "--top-k", "4")
    assert code == 0, err
    assert f"Law: {name}" in out and "converged" in out
    assert ("Compute-optimal allocation" in out) == (set(sl.get_law(name).inputs) == {"N", "D"})


def test_fit_an_expression_law_with_options(capsys):
    code, out, err = run(capsys, "fit", DATA / "example_points.csv", "--law", "E + A/N**alpha + B/D**beta",
                         "--log", "E", "--log", "A", "--log", "B", "--grid", "A=1,100,10000",
                         "--grid", "B=1,100,10000", "--bound", "alpha=0:2", "--tie", "beta=alpha")
    assert code == 0, err
    assert "Law: expression" in out and "tied: alpha" in out


def test_fix_and_bound_options(capsys):
    code, out, err = run(capsys, "fit", DATA / "example_points.csv", "--fix", "E=1.82", "--bound", "alpha=:0.3")
    assert code == 0, err
    assert "fixed" in out and "AT BOUND" in out


@pytest.mark.parametrize("args, message", [
    (["--law", "data-constrained"], "missing column 'U' (unique tokens U)"),
    (["--law", "kaplan-steps"], "missing column 'S_min'"),
    (["--fix", "alpha"], "'alpha' is not NAME=VALUE"),
    (["--fix", "gamma=1"], "has no parameter 'gamma'"),
    (["--fix", "alpha=x"], "'x' is not a number"),
    (["--bound", "alpha=0.1"], "is not LO:HI"),
    (["--tie", "beta=gamma"], "unknown parameter(s) gamma"),
    (["--tie", "beta=__import__('os')"], "only calls to exp"),
    (["--law", "E + A/Q**alpha"], "must use the law's inputs"),
])
def test_bad_law_options(capsys, args, message):
    code, _, err = run(capsys, "fit", DATA / "example_points.csv", *args)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_readme_quickstart_output_is_what_the_command_prints(capsys, tmp_path):
    """The README shows the main command's output verbatim; this keeps the two from drifting apart."""
    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```text\n", 1)[1].split("```", 1)[0]
    code, out, err = run(capsys, "fit", DATA / "chinchilla_epoch.csv", "--plot", tmp_path / "fit.png")
    assert code == 0, err
    assert out.replace(str(tmp_path / "fit.png"), "fit.png").replace(str(DATA) + "/", "data/") == shown
