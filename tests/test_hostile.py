"""Hostile inputs (issue 17): never lose a file, never accept nonsense, never hang, never a traceback.

The corpus (tests/fixtures/make_hostile_corpus.py, generated into a temporary folder) runs through the command
line: each case must exit 2 with one line naming the file, row/line, column or option and a fix, or warn naming
the real problem, and leave every input byte-identical, every symbolic link and named pipe as it was, and no new
file behind a failed command. Property tests (hypothesis) then throw random expressions, tables, fit results and
bytes at the library, and a seeded simulation checks that the standard errors of small designs are honest.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import stat
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalinglaws as sl
from scalinglaws.cli import main
from scalinglaws.exceptions import ScalingLawsError

from .fixtures.make_hostile_corpus import edit_fits, make_corpus, points_frame
from .helpers import EPOCH, isoflop_grid, synthetic_points

#: No command of the corpus may run longer than this (a hang fails the test instead of blocking the suite).
SECONDS = 120


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    cases = make_corpus(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["fit", "points.csv", "--out", "fit.json"]) == 0
    finally:
        os.chdir(cwd)
    edit_fits(root)
    return root, {case.name: case for case in cases}


def snapshot(root: Path) -> dict:
    """Every entry under ``root``: kind and content (a file's digest, a link's target, a pipe's mode)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = os.lstat(path)
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                out[key] = ("link", os.readlink(path))
            elif stat.S_ISFIFO(info.st_mode):
                out[key] = ("fifo", stat.S_IMODE(info.st_mode))
            elif stat.S_ISDIR(info.st_mode):
                out[key] = ("dir",)
            else:
                out[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def run(root: Path, args, capsys) -> tuple[int, str, str]:
    def expired(signum, frame):
        raise TimeoutError(f"scalinglaws {' '.join(args)} ran over {SECONDS} s")

    cwd = os.getcwd()
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(SECONDS)
    os.chdir(root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            code = main(list(args))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
    out, err = capsys.readouterr()
    return code, out, err


def _case_names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return [case.name for case in make_corpus(folder)]


@pytest.mark.parametrize("name", _case_names())
def test_hostile_command(corpus, name, capsys):
    root, cases = corpus
    case = cases[name]
    before = snapshot(root)
    code, out, err = run(root, case.args, capsys)
    after = snapshot(root)
    assert "Traceback" not in err and "RuntimeWarning" not in err, err
    if case.expect == "error":
        assert code == 2, (code, out, err)
        errors = [line for line in err.splitlines() if line.startswith("scalinglaws: error:")]
        assert len(errors) == 1, err
        line = errors[0]
        for needle in case.names:
            assert needle in line, (needle, line)
        assert "; " in line.split("error:", 1)[1], f"no fix after the problem: {line}"
        assert after == before, "a failed command changed or left files"
    else:
        assert code == 0, (code, out, err)
        text = out + err
        if case.expect == "warning":
            assert "warning" in text.lower(), text
        for needle in case.names:
            assert needle in text, (needle, text)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert changed <= set(case.writes), changed
    for key, entry in before.items():  # links and pipes untouched, whatever the outcome
        if entry[0] in ("link", "fifo"):
            assert after.get(key) == entry, key


def test_symlink_output_keeps_the_link_and_writes_its_target(corpus, capsys):
    root, cases = corpus
    code, _, _ = run(root, cases["symlink_written_through"].args, capsys)
    assert code == 0
    assert (root / "link.csv").is_symlink() and os.readlink(root / "link.csv") == "target.csv"
    assert "loss" in (root / "target.csv").read_text()


def test_failed_command_leaves_no_first_output(corpus, capsys):
    root, cases = corpus
    code, _, err = run(root, cases["failed_leaves_nothing"].args, capsys)
    assert code == 2 and not (root / "first.csv").exists(), err
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_wide_table_reads_all_columns(corpus):
    """4,000 extra columns are read (and kept) in one pass (benchmarks/wide_tables.py times it)."""
    root, _ = corpus
    table = sl.read_points(root / "wide.csv")
    assert table.shape == (40, 5 + 4000) and list(table.columns[-2:]) == ["x3998", "x3999"]


# -- the API --------------------------------------------------------------------------------------------------
def test_compute_optimal_without_exponents_is_nan_with_a_warning():
    with pytest.warns(sl.ScalingLawsWarning, match="no interior compute optimum"):
        table = sl.compute_optimal("chinchilla", [1e21, 1e22], params=dict(E=1.7, A=400, B=400, alpha=0.0, beta=0.0))
    assert table["N_opt"].isna().all()


def test_points_warnings_are_data_warnings():
    base = points_frame()
    with pytest.warns(sl.DataWarning, match="per-sequence sum"):
        sl.read_points(base.assign(loss=base["loss"] * 2048))
    with pytest.warns(sl.DataWarning, match="6·N·D"):
        sl.read_points(base.assign(C=base["N"] * base["D"] * 60))
    with warnings.catch_warnings():
        warnings.simplefilter("error", sl.DataWarning)
        table = sl.read_points(base.assign(params=base["N"]))  # the same values twice: said in a note only
    assert any("'params' repeats 'N'" in note for note in table.attrs["notes"])


def test_aliases_that_disagree_name_both_columns():
    base = points_frame()
    with pytest.raises(sl.InputError, match="'N' and 'params'"):
        sl.read_points(base.assign(params=base["N"] * 7))


# -- property tests ---------------------------------------------------------------------------------------------
_EXPRESSION = st.text(alphabet="0123456789*+-/(). NDEAalphbt", min_size=1, max_size=30)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_EXPRESSION)
def test_expressions_are_refused_or_bounded(text):
    from scalinglaws.laws.expression import Expression

    try:
        expression = Expression(text)
    except sl.LawError:
        return
    values = {name: np.float64(2.0) for name in expression.names}
    with np.errstate(all="ignore"):
        try:
            expression(**values)
        except (sl.LawError, TypeError):  # TypeError: a call of a number, e.g. '2(3)'
            pass


_CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                   st.sampled_from(["", "nan", "7B", "abc", "1e400", "-1", "0", "True"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["N", "params", "D", "tokens", "C", "loss", "val_loss", "run", "exclude", "x"]),
                min_size=1, max_size=6), st.data())
def test_points_tables_fail_cleanly(columns, data):
    rows = data.draw(st.integers(0, 5))
    frame = pd.DataFrame({f"c{i}": data.draw(st.lists(_CELLS, min_size=rows, max_size=rows))
                          for i in range(len(columns))})
    frame.columns = columns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = sl.read_points(frame, require=())
        except ScalingLawsError:
            return
    values = table["loss"].to_numpy(float)
    assert np.all(np.isfinite(values) & (values > 0))


@pytest.fixture(scope="module")
def fit_dict():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sl.fit("chinchilla", points_frame()).to_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["values", "stderr", "observed", "residuals"]), st.integers(0, 4),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["nan", "x", None, [], {}])))
def test_edited_fit_results_fail_cleanly(fit_dict, key, index, value):
    edited = json.loads(json.dumps(fit_dict))
    edited[key][index] = value
    try:
        result = sl.FitResult.from_dict(edited)
    except sl.InputError:
        return
    assert np.all(np.isfinite(result.values))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.sampled_from([".csv", ".jsonl", ".json", ".tsv", ".csv.gz", ".txt"]))
def test_bytes_as_a_points_file_fail_cleanly(tmp_path, content, suffix):
    path = tmp_path / f"points{suffix}"
    path.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sl.read_points(path, require=())
        except ScalingLawsError:
            pass
    assert path.read_bytes() == content


# -- honest diagnostics ---------------------------------------------------------------------------------------
def _refits(grid, seeds):
    values, errors, flagged = [], [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in seeds:
            fit = sl.fit("chinchilla", synthetic_points(EPOCH, 0.01, seed, grid))
            flagged += bool(fit.diagnostics.outliers)
            log = np.array([p.log for p in fit.law.params])
            values.append(np.where(log, np.log(fit.values), fit.values))
            errors.append(np.where(log, fit.stderr / fit.values, fit.stderr))
    return np.array(values), np.array(errors), flagged, fit


def test_standard_errors_match_the_spread_over_noise_seeds():
    """24 runs (4 budgets x 6 sizes), 1% noise, 20 seeds: each reported standard error (log scale for E, A, B)
    is within a factor 1.5 of the spread of the estimates over the seeds."""
    grid = isoflop_grid(EPOCH, budgets=np.geomspace(6e18, 3e21, 4), per_budget=6, spread=8)
    values, errors, _, fit = _refits(grid, range(20))
    ratio = np.std(values, axis=0, ddof=1) / np.median(errors, axis=0)
    assert fit.diagnostics.stderr_reliable
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5)), dict(zip(fit.law.param_names, ratio))


def test_six_points_say_their_standard_errors_are_not_reliable():
    grid = isoflop_grid(EPOCH, budgets=np.geomspace(6e18, 3e21, 2), per_budget=3, spread=8)
    values, errors, _, fit = _refits(grid, range(10))
    ratio = np.std(values, axis=0, ddof=1) / np.median(errors, axis=0)
    if np.all((ratio > 1 / 1.5) & (ratio < 1.5)):
        return  # honest anyway
    assert not fit.diagnostics.stderr_reliable
    assert any("standard errors are not reliable" in message for message in fit.warnings)
    assert "NOT reliable" in fit.summary()


def test_outlier_warning_is_rare_on_clean_fits():
    """1% noise, no outlier: the warning fires on under 5% of fits, for 6, 10 and 24 runs."""
    designs = [(2, 3), (2, 5), (4, 6)]
    flagged = total = 0
    for budgets, per in designs:
        grid = isoflop_grid(EPOCH, budgets=np.geomspace(6e18, 3e21, budgets), per_budget=per, spread=8)
        _, _, count, _ = _refits(grid, range(30))
        flagged, total = flagged + count, total + 30
    assert flagged / total < 0.05, f"{flagged} of {total}"


def test_outliers_are_still_found():
    data = synthetic_points(EPOCH, 0.01, 0, isoflop_grid(EPOCH, budgets=np.geomspace(6e18, 3e21, 4), per_budget=6))
    data.loc[7, "loss"] *= 1.15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sl.fit("chinchilla", data)
    assert 7 in fit.diagnostics.outliers


def test_E_collapsed_to_zero_is_at_its_bound():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sl.fit("chinchilla", synthetic_points(dict(EPOCH, E=1e-9), 0.01, 0))
    assert fit.diagnostics.at_bound.get("E") == "lower"
    assert any("E (lower)" in message for message in fit.warnings)


def test_six_point_fits_flag_no_outliers():
    grid = isoflop_grid(EPOCH, budgets=np.geomspace(6e18, 3e21, 2), per_budget=3, spread=8)
    assert math.isclose(_refits(grid, range(10))[2], 0)


def test_api_options_fail_cleanly(fit_dict):
    fit = sl.FitResult.from_dict(fit_dict)
    with pytest.raises(sl.FitError, match="seed"):
        sl.fit("chinchilla", points_frame(), seed=-1, random_starts=2)
    with pytest.raises(ScalingLawsError, match="n_jobs"):
        sl.bootstrap(fit, 4, n_jobs=0)
    with pytest.raises(ScalingLawsError, match="seed"):
        sl.bootstrap(fit, 4, seed=-1)


@pytest.mark.parametrize("edit", ["negative stderr", "stderr off the covariance", "negative loss"])
def test_edited_uncertainty_is_refused(fit_dict, edit):
    edited = json.loads(json.dumps(fit_dict))
    if edit == "negative stderr":
        edited["stderr"][3] = -abs(edited["stderr"][3])
    elif edit == "stderr off the covariance":
        edited["stderr"][3] = 10 * edited["stderr"][3]
    else:
        edited["observed"][0] = -1.0
    with pytest.raises(sl.InputError, match="edited file"):
        sl.FitResult.from_dict(edited)
