"""--format table|json|csv|markdown on every command that prints results: the data go to standard output in the
format asked for (parseable, with the right values), the readable report to standard error."""

import io
import json

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.present import render_tables

from .helpers import DATA, EPOCH, LOGS, isoflop_grid, law_curves, run_cli as run, synthetic_points



@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("format")
    fit_json = tmp / "fit.json"
    sl.save(sl.fit("chinchilla", sl.read_points(DATA / "example_points.csv")), fit_json)
    rows = [(model, b, s_min * (1 + b_noise / b)) for model, s_min, b_noise in (("small", 1000, 2e5),
                                                                              ("big", 3000, 8e5))
            for b in np.geomspace(3e4, 8e6, 8)]
    sweeps = tmp / "sweeps.csv"
    pd.DataFrame(rows, columns=["model", "batch_size_tokens", "steps_to_target"]).to_csv(sweeps, index=False)
    iso = tmp / "iso.csv"
    synthetic_points(EPOCH, 0.003, seed=1, grid=isoflop_grid(EPOCH, per_budget=9, spread=8.0)).to_csv(iso, index=False)
    return {"fit": fit_json, "sweeps": sweeps, "iso": iso}


# command, the tables it emits, a check of the JSON
COMMANDS = {
    "fit": (lambda i: ["fit", DATA / "example_points.csv", "--budgets", "1e21,1e22"],
            ["parameters", "quality", "allocation"],
            lambda d: [r["param"] for r in d["parameters"]] == ["E", "A", "B", "alpha", "beta"]
            and d["quality"][0]["converged"] is True and [r["C"] for r in d["allocation"]] == [1e21, 1e22]),
    "compare": (lambda i: ["compare", DATA / "example_points.csv", "--laws", "chinchilla,chinchilla-tied",
                           "--bootstrap", "0"],
                ["backtest"],
                lambda d: {r["law"] for r in d["backtest"]} == {"chinchilla", "chinchilla-tied"}),
    "forecast": (lambda i: ["forecast", i["fit"], "--params", "7e9", "--tokens", "1.4e11", "--bootstrap", "0"],
                 ["forecast"],
                 lambda d: d["forecast"][0]["N"] == 7e9 and 1.5 < d["forecast"][0]["loss"] < 4),
    "plan": (lambda i: ["plan", i["fit"], "--budget", "1e22", "--bootstrap", "0"],
             ["plan"],
             lambda d: d["plan"][0]["C"] == 1e22 and d["plan"][0]["N_opt"] > 0 and d["plan"][0]["lr"] > 0),
    "batch": (lambda i: ["batch", i["sweeps"]],
              ["sweeps"],
              lambda d: abs(d["sweeps"][0]["B_noise"] / 2e5 - 1) < 1e-6 and d["sweeps"][0]["sweep"] == "small"),
    "ingest": (lambda i: ["ingest", LOGS / "mixed"],
               ["runs", "files", "skipped"],
               lambda d: len(d["runs"]) == 12 and d["skipped"][0]["reason"] == "files that are not logs"),
    "isoflop": (lambda i: ["isoflop", i["iso"]],
                ["budgets", "power_laws"],
                lambda d: len(d["budgets"]) == 9 and [r["quantity"] for r in d["power_laws"]] == ["N_opt", "D_opt"]
                and abs(d["power_laws"][0]["exponent"] - 0.5126) < 0.03),
    "laws": (lambda i: ["laws"],
             ["laws"],
             lambda d: {"chinchilla", "multi-power", "farseer"} <= {r["name"] for r in d["laws"]}),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_json_goes_to_stdout_and_the_report_to_stderr(capsys, inputs, command):
    args, names, check = COMMANDS[command]
    code, out, err = run(capsys, *args(inputs), "--format", "json")
    assert code == 0, err
    data = json.loads(out)  # standard output is exactly one JSON document
    assert list(data) == names
    assert check(data)
    assert err.strip(), "the readable report moves to standard error"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_csv_and_markdown(capsys, inputs, command):
    args, names, _ = COMMANDS[command]
    code, out, err = run(capsys, *args(inputs), "--format", "csv")
    assert code == 0, err
    if len(names) == 1:
        table = pd.read_csv(io.StringIO(out))
        assert len(table) >= 1 and not out.startswith("#")
    else:
        sections = out.split("\n\n")
        assert [s.splitlines()[0] for s in sections if s.strip()] == [f"# {n}" for n in names]
        first = pd.read_csv(io.StringIO(sections[0].split("\n", 1)[1]))
        assert len(first) >= 1
    code, out, err = run(capsys, *args(inputs), "--format", "markdown")
    assert code == 0, err
    assert [line[4:] for line in out.splitlines() if line.startswith("### ")] == names
    assert all(line.startswith("|") for line in out.splitlines() if line and not line.startswith("### "))


def test_table_format_is_the_readable_report(capsys, inputs):
    code, out, err = run(capsys, "fit", DATA / "example_points.csv")
    assert code == 0 and "Law: chinchilla" in out and "Compute-optimal allocation" in out
    code, out2, _ = run(capsys, "fit", DATA / "example_points.csv", "--format", "table")
    assert out2 == out


def test_outputs_and_errors_keep_their_place(capsys, inputs, tmp_path):
    """Files asked for are still written; a bad input is still one line on standard error, exit 2."""
    code, out, err = run(capsys, "fit", DATA / "example_points.csv", "--format", "json", "--out", tmp_path / "r.json")
    assert code == 0 and json.loads(out)["parameters"] and f"Wrote {tmp_path / 'r.json'}" in err
    assert sl.load(tmp_path / "r.json").law.name == "chinchilla"
    code, out, err = run(capsys, "fit", tmp_path / "missing.csv", "--format", "json")
    assert code == 2 and out == "" and err.count("\n") == 1 and "file not found" in err
    code, out, err = run(capsys, "laws", "--format", "yaml")
    assert code == 2 and "Invalid value for '--format'" in err


def test_render_tables_writes_missing_values_as_null_and_empty():
    frame = pd.DataFrame({"name": ["a", "b"], "value": [1.5, np.nan], "n": [1, 2]})
    data = json.loads(render_tables({"t": frame}, "json"))
    assert data == {"t": [{"name": "a", "value": 1.5, "n": 1}, {"name": "b", "value": None, "n": 2}]}
    assert render_tables({"t": frame}, "csv") == "name,value,n\na,1.5,1\nb,,2\n"
    assert "| b |  | 2 |" in render_tables({"t": frame}, "markdown")


def test_curve_fit_emits_its_per_run_quality(capsys, tmp_path):
    from scalinglaws.schedules import constant, wsd

    schedules = {"constant": constant(3000, 1e-3, warmup=100), "wsd": wsd(3000, 1e-3, cooldown=0.3, warmup=100)}
    path = tmp_path / "curves.csv"
    law_curves("lr-annealing", schedules, dict(L0=2.6, A=0.5, alpha=0.5, C=2.0, lam=0.99),
               np.arange(50, 3000, 50)).to_csv(path, index=False)
    code, out, err = run(capsys, "fit", path, "--law", "lr-annealing", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["parameters", "quality", "runs"]
    assert [r["run"] for r in data["runs"]] == ["constant", "wsd"] and all(r["r2"] > 0.999 for r in data["runs"])
