"""The two tidy tables every stage of scalinglaws speaks, with their column aliases and validation.

**Points table**, one row per run (or per checkpoint treated as a run):

=========  ==========================================================================  ==========
column     meaning                                                                     unit
=========  ==========================================================================  ==========
run        run identifier (generated as ``run0``, ``run1``, ... when absent)           text
N          model parameters (say in your data whether embeddings count)                parameters
D          training tokens                                                             tokens
C          training compute; **derived as C = 6·N·D when absent**                     FLOPs
loss       loss to fit                                                                 nats/token
exclude    optional; rows marked true are kept in the table but left out of fits       bool
U          optional: unique tokens, for data-constrained laws                          tokens
N_avg      optional: parameters averaged over training, for sparse (pruned) runs       parameters
S_min      optional: minimum optimizer steps (Kaplan's L(N, S_min))                    steps
=========  ==========================================================================  ==========

When ``D`` is absent but ``C`` is given, ``D = C / (6·N)`` (as Epoch AI did for the Chinchilla points).
Any other column is kept unchanged ("extra" columns: batch size, learning rate, ...).

**Curves table**, one row per logged step of a run: ``run``, ``step``, ``tokens``, ``lr``, ``loss`` (training
loss), ``eval_loss`` (evaluation loss); all but ``run`` and ``step`` may be missing on some rows: evaluation
losses are often logged sparsely. The same columns come from plain tables and from training logs.

Every column name above, and the metric names read from logs, come from one vocabulary, :data:`COLUMNS`.

Column names are matched case-insensitively through aliases (``params``, ``n_params``, ``model_size`` → N;
``tokens`` → D; ``flops``, ``compute`` → C; ``val_loss``, ``eval_loss`` → loss; ...; see :data:`POINTS_ALIASES`).
Numbers may be written with suffixes: ``70B``, ``1.4T``, ``125M``, ``6e23``, ``1,000,000``.
Validation raises :class:`~scalinglaws.exceptions.InputError` naming the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .exceptions import DataWarning, InputError, warn

__all__ = [
    "COLUMNS",
    "Column",
    "POINTS_COLUMNS",
    "CURVES_COLUMNS",
    "POINTS_ALIASES",
    "POINT_INPUTS",
    "CURVES_ALIASES",
    "METRIC_ROLES",
    "FLOPS_PER_PARAM_TOKEN",
    "Source",
    "normalize",
    "parse_number",
    "format_number",
    "counted",
    "points_table",
    "curves_table",
]

#: Training FLOPs per parameter per token used to derive C when a table has none (C = 6·N·D).
FLOPS_PER_PARAM_TOKEN = 6.0


@dataclass(frozen=True)
class Column:
    """One canonical column of the tidy tables: its name, accepted spellings (normalized: lower case, separators
    ``space - / . :`` as ``_``), meaning and unit."""

    name: str
    aliases: tuple[str, ...]
    meaning: str
    unit: str = ""


_RUN = ("run", "run_id", "run_name", "name", "model", "model_name", "experiment", "exp_name")
_TRAIN_LOSS = ("loss", "train_loss", "training_loss", "lm_loss", "train_lm_loss", "train_loss_step", "loss_train",
               "train_ce", "train_nll")
_EVAL_LOSS = ("val_loss", "eval_loss", "validation_loss", "valid_loss", "test_loss", "dev_loss", "heldout_loss")

#: The one vocabulary of scalinglaws: every canonical column of the points, curves and runs tables and of the
#: metrics read from logs, with the spellings accepted for it (in order of preference).
COLUMNS: Mapping[str, Column] = {c.name: c for c in (
    Column("run", _RUN, "run identifier"),
    Column("N", ("n", "params", "n_params", "num_params", "nparams", "parameters", "n_parameters", "num_parameters",
                 "param_count", "model_size", "non_embedding_params", "n_params_non_embedding", "model_params"),
           "model parameters (say in your data whether embeddings count)", "parameters"),
    Column("D", ("d", "tokens", "n_tokens", "num_tokens", "train_tokens", "training_tokens", "data_size"),
           "training tokens", "tokens"),
    Column("C", ("c", "flops", "compute", "train_flops", "training_flops", "compute_flops"), "training compute",
           "FLOPs"),
    Column("loss", (*_TRAIN_LOSS[:1], *_EVAL_LOSS[:5], "final_loss", *_TRAIN_LOSS[1:3]), "the loss to fit",
           "nats/token"),
    Column("U", ("u", "unique_tokens", "n_unique_tokens", "unique"), "unique tokens", "tokens"),
    Column("N_avg", ("n_avg", "avg_params", "average_params", "mean_params"),
           "parameters averaged over training (sparse runs)", "parameters"),
    Column("S_min", ("s_min", "min_steps"), "minimum optimizer steps (Kaplan's L(N, S_min))", "steps"),
    Column("exclude", ("exclude", "excluded", "excluded_by_epoch", "skip"), "rows left out of fits", "bool"),
    Column("step", ("step", "global_step", "trainer_global_step", "train_global_step", "iteration", "iter", "_step",
                    "steps", "it", "current_steps"), "optimizer step", "steps"),
    Column("tokens", ("tokens", "num_tokens", "n_tokens", "tokens_seen", "consumed_tokens", "train_tokens",
                      "num_input_tokens_seen", "total_tokens", "train_num_tokens", "trainer_tokens",
                      "tokens_consumed", "d"), "tokens seen so far", "tokens"),
    Column("lr", ("lr", "learning_rate", "train_lr", "train_learning_rate", "optim_lr", "optimizer_lr", "lr_adamw",
                  "lr_adam", "lr_sgd", "trainer_lr"), "learning rate"),
    Column("train_loss", _TRAIN_LOSS, "training loss of a logged step", "nats/token"),
    Column("eval_loss", _EVAL_LOSS, "evaluation loss of a logged step", "nats/token"),
    Column("batch_size", ("batch_size_tokens", "batch_tokens", "batch_size", "bs", "b"), "the batch size of a sweep"),
    Column("steps", ("steps_to_target", "steps", "s", "step"), "the steps to reach the target loss", "steps"),
)}

#: Columns every points table has (one row per run or checkpoint), in this order.
POINTS_COLUMNS = ("run", "N", "D", "C", "loss")
#: Columns every curves table has (one row per logged step), in this order: ``loss`` is the training loss,
#: ``eval_loss`` the evaluation loss; either may be missing (NaN) on some rows or all.
CURVES_COLUMNS = ("run", "step", "tokens", "lr", "loss", "eval_loss")
#: The roles a logged metric can fill in a curves table, besides the step.
METRIC_ROLES = ("loss", "eval_loss", "lr", "tokens")


def _aliases(**names: str) -> Mapping[str, tuple[str, ...]]:
    return {table_name: COLUMNS[column].aliases for table_name, column in names.items()}


#: Accepted spellings per canonical column of the points table, in order of preference.
POINTS_ALIASES: Mapping[str, tuple[str, ...]] = _aliases(run="run", N="N", D="D", C="C", loss="loss", U="U",
                                                         N_avg="N_avg", S_min="S_min", exclude="exclude")

#: Optional numeric columns of the points table, read (with aliases) when present.
POINT_EXTRAS = ("U", "N_avg", "S_min")
#: Every numeric input a law of runs may read from the points table.
POINT_INPUTS = ("N", "D", "C", *POINT_EXTRAS)
_MEANING = {"N": "the parameter count N", "D": "the token count D", "C": "compute C",
            "U": "unique tokens U", "N_avg": "average parameter count N_avg", "S_min": "minimum steps S_min"}

#: Accepted spellings per canonical column of the curves table, in order of preference.
CURVES_ALIASES: Mapping[str, tuple[str, ...]] = _aliases(run="run", step="step", tokens="tokens", lr="lr",
                                                         loss="train_loss", eval_loss="eval_loss")

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_NUMBER = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?|[+-]?\.\d+(?:[eE][+-]?\d+)?)"
    r"\s*(?P<suffix>[kKmMbBgGtTpP]?)\s*$"
)
_NUMBER_PATTERN = _NUMBER.pattern.replace("(?P<num>", "(").replace("(?P<suffix>", "(")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", ""}


@dataclass(frozen=True)
class Source:
    """Where a table came from, to name the file and line in error messages.

    ``lines[i]`` is the 1-based line of data row ``i`` in ``path``; when every row is one line after a header,
    ``offset`` says it without an array (row ``i`` is on line ``i + offset``). With neither (Parquet, a table
    built in memory) messages say "row i".
    """

    path: str | None = None
    lines: np.ndarray | None = None
    offset: int | None = None

    def at(self, i: int) -> dict:
        """Keyword arguments locating data row ``i`` (0-based) for :class:`InputError`."""
        if self.lines is not None:
            return {"path": self.path, "line": int(self.lines[i])}
        if self.offset is not None:
            return {"path": self.path, "line": int(i) + self.offset}
        return {"path": self.path, "row": int(i)}


def parse_number(text) -> float:
    """Parse a number written as a human would: ``"70B"`` → 7e10, ``"1.4T"`` → 1.4e12, ``"6e23"``.

    Suffixes (case-insensitive): k = 1e3, M = 1e6, B or G = 1e9, T = 1e12, P = 1e15. Thousands
    separators are accepted only in groups of three (``1,000,000``). Raises ``ValueError`` otherwise.

    >>> parse_number("70B"), parse_number("1.4T"), parse_number(" 125m "), parse_number("1,000")
    (70000000000.0, 1400000000000.0, 125000000.0, 1000.0)
    """
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        return float(text)
    m = _NUMBER.match(str(text))
    if m is None:
        raise ValueError(f"{text!r} is not a number")
    return float(m["num"].replace(",", "")) * _SUFFIX[m["suffix"].lower()]


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` things, the noun in the singular for one.

    >>> counted(1, "log"), counted(12, "log"), counted(0, "entry", "entries")
    ('1 log', '12 logs', '0 entries')
    """
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def format_number(value: float, digits: int = 3) -> str:
    """Write a count the way :func:`parse_number` reads it: 7e10 → ``"70B"``, 1.4e12 → ``"1.4T"``.

    >>> format_number(7e10), format_number(1.4e12), format_number(125e6), format_number(3.5)
    ('70B', '1.4T', '125M', '3.5')
    """
    value = float(value)
    if not np.isfinite(value) or abs(value) >= 999.5e15 or abs(value) < 1e3:
        return f"{value:.{digits}g}"
    for suffix, scale in (("k", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)):
        mantissa = float(f"{value / scale:.{digits}g}")
        if abs(mantissa) < 1000:
            return f"{mantissa:g}{suffix}"
    return f"{float(f'{value / 1e15:.{digits}g}'):g}P"


def normalize(name) -> str:
    """A column or metric name as the vocabulary spells it: lower case, ``space - / . :`` as ``_``.

    >>> normalize("Train/Loss"), normalize("lr-AdamW")
    ('train_loss', 'lr_adamw')
    """
    return re.sub(r"[\s\-/.:]+", "_", str(name).strip()).lower()


def _resolve(columns: Sequence, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str] | None,
             source: Source) -> dict[str, str]:
    """Map canonical name -> column of the input, trying user overrides first, then aliases in order."""
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalize(col), col)
    found: dict[str, str] = {}
    for canonical, given in (overrides or {}).items():
        if canonical not in aliases:
            raise InputError(f"unknown table column {canonical!r} in the column mapping",
                             path=source.path, hint=f"map one of {', '.join(aliases)}")
        if given not in columns:
            raise InputError(f"column {given!r} (given for {canonical}) is not in the table",
                             path=source.path, hint=f"columns are: {', '.join(map(str, columns))}")
        found[canonical] = given
    taken = set(found.values())
    for canonical, names in aliases.items():
        if canonical in found:
            continue
        for alias in names:
            col = by_norm.get(alias)
            if col is not None and col not in taken:
                found[canonical] = col
                taken.add(col)
                break
    return found


def _columns_of(frame: pd.DataFrame, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str] | None,
                source: Source, rows: str) -> dict[str, str]:
    """Refuse an empty table, then resolve its columns (see :func:`_resolve`)."""
    if len(frame) == 0:
        raise InputError("no data rows", path=source.path, hint=f"the table has a header but no {rows}")
    return _resolve(list(frame.columns), aliases, overrides, source)


def _missing(canonical: str, aliases: Mapping[str, tuple[str, ...]], columns: Sequence, source: Source,
             why: str = "") -> InputError:
    names = ", ".join(aliases[canonical][:6])
    return InputError(
        f"missing column '{canonical}'{why}",
        path=source.path,
        hint=f"name a column one of {names} (or map one with columns={{'{canonical}': ...}} / --col "
             f"{canonical}=NAME); columns found: {', '.join(map(str, columns)) or 'none'}",
    )


def _numeric(series: pd.Series, column: str, source: Source, *, allow_nan: bool = False) -> np.ndarray:
    """Convert a column to float64, accepting human numbers; raise InputError on the first bad cell."""
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series) \
            or isinstance(series.dtype, pd.PeriodDtype):
        raise InputError(f"is a date/time column ({series.dtype}), not a number", column=column, path=source.path,
                         hint="give the quantity as numbers, or map another column with --col / columns=")
    if pd.api.types.is_bool_dtype(series):
        bad = np.arange(len(series))
    elif pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.empty(0, dtype=int)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
        present = series.notna().to_numpy()
        retry = np.flatnonzero(np.isnan(values) & present)
        if retry.size:
            text = series.iloc[retry].astype(str)
            parts = text.str.extract(_NUMBER_PATTERN)
            num = pd.to_numeric(parts[0].str.replace(",", "", regex=False), errors="coerce")
            mult = parts[1].fillna("").str.lower().map(_SUFFIX)
            values[retry] = (num * mult).to_numpy(dtype=float, na_value=np.nan)
            is_nan_text = text.str.strip().str.lower().isin(["nan", "na", "n/a", "null", "none", ""])
            bad = retry[np.isnan(values[retry]) & ~is_nan_text.to_numpy()]
        else:
            bad = retry
    if bad.size:
        i = int(bad[0])
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise InputError(f"{series.iloc[i]!r} is not a number{more}", column=column, **source.at(i),
                         hint="write plain numbers (7e9) or with a suffix (7B, 1.4T)")
    if not allow_nan:
        nan = np.flatnonzero(np.isnan(values))
        if nan.size:
            i = int(nan[0])
            more = f" (and {nan.size - 1} more rows)" if nan.size > 1 else ""
            raise InputError(f"value is missing or NaN{more}", column=column, **source.at(i),
                             hint="fill it in, or remove the row")
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        i = int(inf[0])
        raise InputError(f"value is infinite ({values[i]})", column=column, **source.at(i),
                         hint="fix the value, or remove the row")
    return values


def _positive(values: np.ndarray, column: str, source: Source, what: str) -> None:
    bad = np.flatnonzero(values <= 0)  # NaN compares False, so missing values pass here
    if bad.size:
        i = int(bad[0])
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise InputError(f"{what} must be positive, got {values[i]:g}{more}", column=column,
                         **source.at(i), hint="fix the value, or remove the row")


def boolean_column(series: pd.Series, column: str, source: Source) -> np.ndarray:
    """A true/false column (true/false, yes/no, 1/0, t/f, y/n; empty is false) as a bool array."""
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(False).to_numpy(dtype=bool)
    text = series.astype(str).str.strip().str.lower()
    text = text.where(series.notna(), "")
    ok = text.isin(_TRUE | _FALSE).to_numpy()
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(f"{series.iloc[i]!r} is not true/false", column=column, **source.at(i),
                         hint="write true/false, yes/no or 1/0")
    return text.isin(_TRUE).to_numpy()


def _run_names(frame: pd.DataFrame, col: str | None) -> pd.Series:
    """Run names as text; rows without one are named ``run<i>`` after their position."""
    names = pd.Series([f"run{i}" for i in range(len(frame))], index=frame.index, dtype=object)
    if col is not None:
        given = frame[col].notna()
        names[given] = frame.loc[given, col].map(str)
    return names


def _finish(frame: pd.DataFrame, canonical: dict[str, np.ndarray | pd.Series], used: set[str],
            order: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame({k: canonical[k] for k in order if k in canonical})
    out.index = pd.RangeIndex(len(out))
    keep = [i for i, col in enumerate(frame.columns) if col not in used and col not in out.columns]
    if keep:  # every extra column at once (one at a time is quadratic in the number of columns)
        extra = frame.iloc[:, keep].reset_index(drop=True)
        out = pd.concat([out, extra], axis=1)
    return out


def points_table(frame: pd.DataFrame, *, columns: Mapping[str, str] | None = None,
                 source: Source | None = None, require: Sequence[str] = ("N", "D")) -> pd.DataFrame:
    """Validate and canonicalize a table of runs into the points table (see the module docstring).

    ``columns`` maps canonical names to the input's column names when aliases do not find them,
    e.g. ``{"N": "non_embedding_params"}``. ``require`` names the inputs the caller needs (a law's inputs;
    ``loss`` is always needed); derived columns count (C from N and D, D from C and N). The returned
    frame's ``attrs["columns"]`` records which input column became which canonical column.

    >>> t = points_table(pd.DataFrame({"params": ["70M", "1B"], "tokens": ["1.4B", "20B"],
    ...                                "val_loss": [3.1, 2.6]}))
    >>> t[["N", "D", "C", "loss"]].to_numpy().tolist()
    [[70000000.0, 1400000000.0, 5.88e+17, 3.1], [1000000000.0, 20000000000.0, 1.2e+20, 2.6]]
    """
    source = source or Source()
    _unique_columns(frame, source)
    found = _columns_of(frame, POINTS_ALIASES, columns, source, "runs")
    names = list(frame.columns)
    if "loss" not in found:
        raise _missing("loss", POINTS_ALIASES, names, source)
    out: dict[str, np.ndarray | pd.Series] = {"run": _run_names(frame, found.get("run"))}
    for name in ("N", "D", "C", *POINT_EXTRAS):
        if name in found:
            out[name] = _numeric(frame[found[name]], found[name], source)
            _positive(out[name], found[name], source, _MEANING[name])
    with np.errstate(over="ignore", under="ignore"):
        if "D" not in out and "C" in out and "N" in out:
            out["D"] = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["N"])
            _derived_finite(out["D"], "D = C/(6·N)", found["C"], source)
        if "C" not in out and "N" in out and "D" in out:
            out["C"] = FLOPS_PER_PARAM_TOKEN * out["N"] * out["D"]
            _derived_finite(out["C"], "C = 6·N·D", found["D"], source)
    for name in require:
        if name not in out and name in POINTS_ALIASES:
            why = {"N": " (model parameters)", "D": " (training tokens; or give C and N, and D = C/(6N))",
                   "C": " (training FLOPs; or give N and D, and C = 6·N·D)"}.get(name, f" ({_MEANING[name]})")
            raise _missing(name, POINTS_ALIASES, names, source, why)
    out["loss"] = _numeric(frame[found["loss"]], found["loss"], source)
    _positive(out["loss"], found["loss"], source, "the loss")
    if "exclude" in found:
        out["exclude"] = boolean_column(frame[found["exclude"]], found["exclude"], source)
    notes = _second_aliases(frame, found, out, source, columns)
    warnings = _points_warnings(out, found, source, given_c="C" in found)
    table = _finish(frame, out, set(found.values()), (*POINTS_COLUMNS, *POINT_EXTRAS, "exclude"))
    table.attrs["columns"] = {k: str(v) for k, v in found.items()}
    table.attrs["notes"] = notes
    table.attrs["warnings"] = warnings
    for text in warnings:
        warn(text, DataWarning)
    return table


def _derived_finite(values: np.ndarray, what: str, column: str, source: Source) -> None:
    """Refuse a derived column that overflowed (N = 1e200 and D = 1e200 give C = inf) or vanished."""
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        i = int(bad[0])
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise InputError(f"{what} is {values[i]:g}, not a finite positive number{more}", column=column,
                         **source.at(i), hint="check the units of N, D and C (N in parameters, D in tokens)")


def _unique_columns(frame: pd.DataFrame, source: Source) -> None:
    """Refuse a table with two columns of one name (which one would be used is a guess)."""
    dup = frame.columns[frame.columns.duplicated()]
    if len(dup):
        raise InputError(f"{int(frame.columns.duplicated(keep=False).sum())} columns are named {dup[0]!r}",
                         path=source.path, line=1 if source.lines is not None or source.offset else None,
                         column=str(dup[0]), hint="rename them so that each column has its own name")


#: Aliases of one quantity that must agree when a table has both (``params`` and ``N``); a relative tolerance.
_AGREE = 1e-6


def _second_aliases(frame, found, out, source, overrides) -> list[str]:
    """Columns that are other spellings of a quantity already read (``params`` beside ``N``): the same values
    are said in a note, different ones are an :class:`InputError` naming both."""
    notes = []
    taken = set(found.values())
    for name in ("N", "D", "C", *POINT_EXTRAS):
        if name not in found or name not in out:
            continue
        others = [c for c in frame.columns if c not in taken and normalize(c) in POINTS_ALIASES[name]]
        if name in (overrides or {}):  # the user chose the column: the others are kept as extra columns, said
            notes += [f"{col!r} (another spelling of {name}) not used: {name} <- {found[name]!r} as asked"
                      for col in others]
            continue
        for col in others:
            try:
                values = _numeric(frame[col], str(col), source, allow_nan=True)
            except InputError:
                values = np.full(len(frame), np.nan)
            with np.errstate(all="ignore"):
                off = ~(np.abs(values - out[name]) <= _AGREE * np.abs(out[name]))
            if off.any():
                i = int(np.flatnonzero(off)[0])
                raise InputError(f"columns {found[name]!r} and {col!r} both give {_MEANING[name]} and disagree "
                                 f"({out[name][i]:g} against {values[i]:g}"
                                 + (f", and {int(off.sum()) - 1} more rows)" if off.sum() > 1 else ")"),
                                 column=str(col), **source.at(i),
                                 hint=f"remove one, or choose with --col {name}=COLUMN (columns={{'{name}': ...}})")
            notes.append(f"{col!r} repeats {found[name]!r} ({name}); used {found[name]!r}")
    return notes


#: A median loss above this many nats per token is no per-token loss (ln of a 256k vocabulary is 12.5).
PER_TOKEN_MAX = 20.0
#: A given C more than this factor away from 6·N·D is said.
C_FACTOR = 2.0


def _points_warnings(out, found, source, *, given_c: bool) -> list[str]:
    """What looks wrong in valid numbers: loss units, a C that contradicts 6·N·D, copies of one run."""
    where = f"{source.path}: " if source.path else ""
    said = []
    loss = out["loss"]
    median = float(np.median(loss)) if loss.size else np.nan
    if median > PER_TOKEN_MAX:
        said.append(f"{where}column '{found['loss']}': median loss {median:.4g} is above {PER_TOKEN_MAX:g} nats per "
                    "token: a per-sequence sum (x sequence length) or a percentage (x100)? Divide it to nats per "
                    "token before fitting")
    for name, low, example in (("N", 1e4, "7e9 or 7B"), ("D", 1e4, "1.4e12 or 1.4T"), ("C", 1e10, "6e23")):
        if name in found and name in out and len(out[name]) and float(np.median(out[name])) < low:
            said.append(f"{where}column '{found[name]}': median {name} {float(np.median(out[name])):.4g} is below "
                        f"{low:g}: {_MEANING[name]} in millions or billions? Give plain counts ({example})")
    if given_c and "N" in found and "D" in found:
        with np.errstate(all="ignore"):
            ratio = out["C"] / (FLOPS_PER_PARAM_TOKEN * out["N"] * out["D"])
        off = np.flatnonzero(~((ratio <= C_FACTOR) & (ratio >= 1 / C_FACTOR)))
        if off.size:
            i = int(off[0])
            line = source.at(i)
            at = f"line {line['line']}" if "line" in line else f"row {line['row']}"
            said.append(f"{source.path + ', ' if source.path else ''}{at}, column '{found['C']}': C = {out['C'][i]:.4g} is {ratio[i]:.3g}x 6·N·D "
                        f"({off.size} of {ratio.size} rows beyond a factor {C_FACTOR:g}); C is used as given: check "
                        "its units, or drop the column to take C = 6·N·D")
    keys = [k for k in ("N", "D", "C", *POINT_EXTRAS, "loss") if k in out]
    if len(loss) > 1:
        stacked = np.column_stack([np.asarray(out[k], dtype=float) for k in keys])
        distinct = np.unique(stacked, axis=0).shape[0]
        if distinct < len(loss):
            said.append(f"{where}{len(loss) - distinct} rows repeat another row exactly ({', '.join(keys)}): "
                        f"{distinct} distinct points in {len(loss)} rows; copies add no information (the fit counts "
                        "distinct points to judge what the data determine): remove the copies")
    return said


def curves_table(frame: pd.DataFrame, *, columns: Mapping[str, str] | None = None,
                 source: Source | None = None) -> pd.DataFrame:
    """Validate and canonicalize a table of logged steps into the curves table.

    ``step`` is required (non-negative integers); ``tokens``, ``lr``, ``loss`` and ``eval_loss`` are optional and
    may be missing on some rows, but never infinite or negative, and ``loss`` never zero.

    >>> t = curves_table(pd.DataFrame({"iter": [0, 10], "learning_rate": [1e-3, 9e-4],
    ...                                "val_loss": [None, 3.2]}))
    >>> t.columns.tolist(), t["step"].tolist(), t["eval_loss"].tolist()
    (['run', 'step', 'tokens', 'lr', 'loss', 'eval_loss'], [0, 10], [nan, 3.2])
    """
    source = source or Source()
    found = _columns_of(frame, CURVES_ALIASES, columns, source, "steps")
    if "step" not in found:
        raise _missing("step", CURVES_ALIASES, list(frame.columns), source, " (optimizer step)")
    runs = _run_names(frame, found["run"]) if "run" in found else pd.Series("run0", index=frame.index, dtype=object)
    out: dict[str, np.ndarray | pd.Series] = {"run": runs}
    step = _numeric(frame[found["step"]], found["step"], source)
    bad = np.flatnonzero((step < 0) | (step != np.round(step)))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"step must be a non-negative integer, got {step[i]:g}", column=found["step"],
                         **source.at(i), hint="fix the value, or remove the row")
    out["step"] = step.astype(np.int64)
    for name in ("tokens", "lr", "loss", "eval_loss"):
        if name in found:
            values = _numeric(frame[found[name]], found[name], source, allow_nan=True)
            if name in ("loss", "eval_loss"):
                _positive(values, found[name], source, "the loss")
            else:
                bad = np.flatnonzero(values < 0)
                if bad.size:
                    i = int(bad[0])
                    label = {"lr": "learning rate", "tokens": "token count"}[name]
                    raise InputError(f"{label} must be >= 0, got {values[i]:g}", column=found[name],
                                     **source.at(i), hint="fix the value, or remove the row")
            out[name] = values
        else:
            out[name] = np.full(len(frame), np.nan)
    table = _finish(frame, out, set(found.values()), CURVES_COLUMNS)
    table.attrs["columns"] = {k: str(v) for k, v in found.items()}
    return table
