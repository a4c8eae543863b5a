"""The tidy tables: aliases, human numbers, derived columns and validation errors."""


import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scalinglaws as sl
from scalinglaws.schema import Source, curves_table, format_number, parse_number, points_table


@pytest.mark.parametrize("text, value", [
    ("70B", 7e10), ("1.4T", 1.4e12), ("6e23", 6e23), ("125M", 1.25e8), ("125m", 1.25e8), ("7k", 7e3),
    ("1,000,000", 1e6), (" 2.5 G ", 2.5e9), ("-3", -3.0), (".5", 0.5), ("1e-3", 1e-3), ("3P", 3e15), (42, 42.0),
])
def test_parse_number_reads_human_numbers(text, value):
    assert parse_number(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text", ["abc", "1,5", "7 B B", "1e", "", "12,34", "7X"])
def test_parse_number_rejects_text(text):
    with pytest.raises(ValueError):
        parse_number(text)


@given(st.floats(min_value=1e-3, max_value=9e17, allow_nan=False))
def test_format_number_round_trips_to_three_digits(x):
    assert parse_number(format_number(x)) == pytest.approx(x, rel=5e-3)


@pytest.mark.parametrize("n_col, d_col, c_col, loss_col", [
    ("params", "tokens", None, "val_loss"),
    ("n_params", "n_tokens", "flops", "eval_loss"),
    ("model_size", "tokens", "compute", "loss"),
    ("Params", "Tokens", None, "Validation Loss"),
])
def test_points_aliases_map_to_canonical_columns(n_col, d_col, c_col, loss_col):
    frame = pd.DataFrame({n_col: [1e8, 1e9], d_col: [2e9, 2e10], loss_col: [3.0, 2.5], "lr": [1e-3, 5e-4]})
    if c_col:
        frame[c_col] = [1.3e18, 1.3e20]
    table = points_table(frame)
    assert list(table.columns[:5]) == ["run", "N", "D", "C", "loss"]
    assert table["N"].tolist() == [1e8, 1e9]
    assert table["D"].tolist() == [2e9, 2e10]
    assert table["loss"].tolist() == [3.0, 2.5]
    assert table["C"].tolist() == ([1.3e18, 1.3e20] if c_col else [6 * 1e8 * 2e9, 6 * 1e9 * 2e10])
    assert table["lr"].tolist() == [1e-3, 5e-4]  # extra columns are kept
    assert table.attrs["columns"]["N"] == n_col


def test_points_derive_tokens_from_compute_when_absent():
    table = points_table(pd.DataFrame({"N": [1e9], "C": [6e19], "loss": [2.5]}))
    assert table["D"].item() == pytest.approx(1e10, rel=1e-15)


def test_points_accept_human_numbers_and_name_runs():
    table = points_table(pd.DataFrame({"params": ["70B", "125M"], "tokens": ["1.4T", "2.5B"], "loss": ["1.94", 3]}))
    assert table["N"].tolist() == [7e10, 1.25e8]
    assert table["D"].tolist() == [1.4e12, 2.5e9]
    assert table["run"].tolist() == ["run0", "run1"]


def test_exact_canonical_name_wins_over_alias():
    table = points_table(pd.DataFrame({"N": [1e9], "D": [1e10], "loss": [2.0], "val_loss": [2.1],
                                       "train_loss": [1.9]}))
    assert table["loss"].item() == 2.0
    assert table["val_loss"].item() == 2.1


def test_column_override_beats_aliases():
    frame = pd.DataFrame({"N": [1e9], "nonemb": [8e8], "D": [1e10], "loss": [2.0]})
    table = points_table(frame, columns={"N": "nonemb"})
    assert table["N"].item() == 8e8


def test_exclude_column_is_parsed_as_boolean():
    frame = pd.DataFrame({"N": [1e9, 2e9, 3e9], "D": [1e10] * 3, "loss": [2.0] * 3, "excluded": ["yes", "no", ""]})
    assert points_table(frame)["exclude"].tolist() == [True, False, False]
    frame["excluded"] = ["maybe", "no", "no"]
    with pytest.raises(sl.InputError, match="'maybe' is not true/false"):
        points_table(frame)


def _error(frame, **kw) -> sl.InputError:
    with pytest.raises(sl.InputError) as info:
        points_table(frame, source=Source("runs.csv", np.arange(len(frame)) + 2), **kw)
    return info.value


def test_missing_column_names_what_to_add():
    err = _error(pd.DataFrame({"N": [1e9], "loss": [2.0]}))
    assert err.path == "runs.csv" and "missing column 'D'" in str(err) and "tokens" in str(err)
    err = _error(pd.DataFrame({"N": [1e9], "D": [1e9]}))
    assert "missing column 'loss'" in str(err)


def test_text_in_numeric_column_names_line_and_column():
    err = _error(pd.DataFrame({"N": ["1e9", "big"], "D": [1e9, 1e9], "loss": [2.0, 2.0]}))
    assert (err.line, err.column) == (3, "N")
    assert str(err).startswith("runs.csv, line 3, column 'N': 'big' is not a number")


@pytest.mark.parametrize("value, message", [(np.nan, "missing or NaN"), (np.inf, "infinite"),
                                            (-1e9, "must be positive"), (0.0, "must be positive")])
def test_bad_values_are_reported(value, message):
    err = _error(pd.DataFrame({"N": [1e9, 1e9, value], "D": [1e9] * 3, "loss": [2.0] * 3}))
    assert err.line == 4 and err.column == "N" and message in str(err)


def test_more_bad_rows_are_counted():
    err = _error(pd.DataFrame({"N": [1e9, -1, -2, -3], "D": [1e9] * 4, "loss": [2.0] * 4}))
    assert "(and 2 more rows)" in str(err)


def test_empty_table_is_an_error():
    assert "no data rows" in str(_error(pd.DataFrame({"N": [], "D": [], "loss": []})))


def test_in_memory_errors_use_row_numbers():
    with pytest.raises(sl.InputError, match=r"^row 1, column 'loss'"):
        points_table(pd.DataFrame({"N": [1e9, 1e9], "D": [1e9, 1e9], "loss": [2.0, -2.0]}))


def test_curves_table_canonical_columns():
    frame = pd.DataFrame({"run_name": ["a", "a", "b"], "global_step": [0, 100, 0], "learning_rate": [0, 1e-3, 0],
                          "eval_loss": [None, 3.1, None], "tokens_seen": ["0", "51.2M", "0"]})
    table = curves_table(frame)
    assert table.columns.tolist() == ["run", "step", "tokens", "lr", "loss", "eval_loss"]
    assert table["step"].dtype == np.int64
    assert table["tokens"].tolist() == [0.0, 5.12e7, 0.0]
    assert table["run"].tolist() == ["a", "a", "b"]
    assert np.isnan(table["eval_loss"][0]) and table["eval_loss"][1] == 3.1
    assert table["loss"].isna().all()  # the training loss: not in this table


def test_one_vocabulary_for_tables_and_logs():
    """The points table, the curves table and the log-metric matcher take their spellings from COLUMNS."""
    from scalinglaws.io.names import choose_keys
    from scalinglaws.schema import COLUMNS, CURVES_ALIASES, POINTS_ALIASES

    assert POINTS_ALIASES["N"] is COLUMNS["N"].aliases and CURVES_ALIASES["step"] is COLUMNS["step"].aliases
    for alias in COLUMNS["tokens"].aliases:
        assert choose_keys([alias]).get("tokens") == alias
    for alias in COLUMNS["lr"].aliases:
        assert choose_keys([alias]).get("lr") == alias


def test_curves_reject_fractional_steps_and_negative_lr():
    with pytest.raises(sl.InputError, match="non-negative integer"):
        curves_table(pd.DataFrame({"step": [0, 1.5], "loss": [3.0, 2.9]}))
    with pytest.raises(sl.InputError, match="learning rate must be >= 0"):
        curves_table(pd.DataFrame({"step": [0, 1], "lr": [1e-3, -1e-3]}))
