"""Run metadata: parameter count, batch size, sequence length — from a sidecar table, the logs, or configs.

For every run, each field is taken from the first source that has it:

1. a **sidecar table** ``runs.csv`` (or ``.tsv``/``.jsonl``/``.json``/``.parquet``): a ``run`` column matching
   the runs' names and any of the fields below; given with ``runs=`` / ``--runs``, or found at the top of an
   ingested folder;
2. what the **log itself** says (nanoGPT's parameter count and tokens per iteration, Megatron's argument dump,
   MLflow params);
3. **config files** next to the log, then in the folders above it up to the ingested folder: ``config.json``
   (a Hugging Face model config: N is counted from the architecture, see :mod:`scalinglaws.io.architecture`),
   ``config.yaml``/``.yml`` (W&B's run config, whose values sit under ``value:``), ``hparams.yaml`` (Lightning),
   ``args.json``/``args.yaml``, ``train_config.*``, ``params.*``.

========================  ==================================================================================
field                     accepted names (case-insensitive; nested config keys match on their last part)
========================  ==================================================================================
N (parameters)            ``N``, ``n_params``, ``num_params``, ``params``, ``parameters``, ``model_size``,
                          ``non_embedding_params``, ...
batch_size (sequences)    ``global_batch_size``, ``total_batch_size``, ``train_batch_size``, ``batch_size``
grad_accum                ``gradient_accumulation_steps``, ``accumulate_grad_batches``, ``grad_accum``
seq_len (tokens)          ``seq_len``, ``seq_length``, ``sequence_length``, ``max_seq_len``, ``block_size``,
                          ``context_length``
tokens_per_step           ``tokens_per_step``, ``tokens_per_iter``, ``tokens_per_batch``, ``batch_tokens``
vocab_size                ``vocab_size``, ``padded_vocab_size``
========================  ==================================================================================

Tokens per step = ``tokens_per_step`` when given, else ``batch_size × grad_accum × seq_len`` (``grad_accum``
is 1 when absent). A config's ``batch_size`` is taken as the global batch when no ``global_batch_size`` is
given: if yours is per device, give the global batch in ``runs.csv``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..exceptions import InputError
from ..schema import COLUMNS, normalize, parse_number
from .architecture import count_parameters
from .logs import read_text

__all__ = ["FIELDS", "SIDECAR_NAMES", "CONFIG_NAMES", "read_sidecar", "read_config", "config_fields",
           "is_metadata_file"]

FIELDS: Mapping[str, tuple[str, ...]] = {
    "N": COLUMNS["N"].aliases,
    "batch_size": ("global_batch_size", "total_batch_size", "train_batch_size", "batch_size", "batch", "bs"),
    "grad_accum": ("gradient_accumulation_steps", "accumulate_grad_batches", "grad_accum", "grad_accum_steps"),
    "seq_len": ("seq_len", "seq_length", "sequence_length", "max_seq_len", "max_seq_length", "block_size",
                "context_length", "ctx_len"),
    "tokens_per_step": ("tokens_per_step", "tokens_per_iter", "tokens_per_iteration", "tokens_per_batch",
                        "batch_tokens", "global_batch_tokens"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "devices": ("devices", "num_devices", "gpus", "n_gpus", "num_gpus"),
    "num_nodes": ("num_nodes", "nodes", "n_nodes"),
}
SIDECAR_NAMES = tuple(f"runs{ext}" for ext in (".csv", ".tsv", ".jsonl", ".json", ".parquet"))
CONFIG_NAMES = ("config.json", "config.yaml", "config.yml", "hparams.yaml", "hparams.yml", "args.json",
                "args.yaml", "train_config.json", "train_config.yaml", "params.json", "params.yaml")
_CONFIG_SET = frozenset(CONFIG_NAMES)
_RUN_COLUMNS = COLUMNS["run"].aliases


def is_metadata_file(path: Path) -> bool:
    """Sidecar tables and config files are metadata, not logs."""
    return path.name in SIDECAR_NAMES or path.name in CONFIG_NAMES or path.suffix.lower() in (".yaml", ".yml")


def _unwrap(value):
    """W&B's config.yaml stores ``key: {desc: ..., value: x}``; give ``x``."""
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def _flatten(data: Mapping, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        value = _unwrap(value)
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def read_config(path: Path) -> dict:
    """A JSON or YAML config as a flat dict (nested keys joined with dots)."""
    text = read_text(path)
    if path.suffix.lower() == ".json":
        if not text.strip():
            raise InputError("is empty (a JSON config holds an object)", path=path,
                             hint="write the run's config into it, or remove the file")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno,
                             hint="the file may be truncated") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            raise InputError(f"not valid YAML ({getattr(err, 'problem', None) or err})", path=path,
                             line=mark.line + 1 if mark else None, hint="the file may be truncated") from None
    return _flatten(data) if isinstance(data, Mapping) else {}


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = parse_number(value)
    except ValueError:
        return None
    return number if np.isfinite(number) and number > 0 else None


def config_fields(flat: Mapping[str, object], path: Path | None = None) -> dict:
    """The fields of the module docstring found in a flat config (plus ``N_embed``/``N_total`` and a note
    when N was counted from a model config's architecture)."""
    by_leaf: dict[str, object] = {}
    for key in sorted(flat, key=lambda k: k.count(".")):  # shallow keys win over nested ones
        by_leaf.setdefault(normalize(str(key).rsplit(".", 1)[-1]), flat[key])
    out: dict = {}
    if "model_type" in by_leaf and "vocab_size" in by_leaf:
        try:
            counts = count_parameters({k.rsplit(".", 1)[-1]: v for k, v in flat.items()}, path=path)
        except InputError as err:
            out["N_note"] = err.problem
        else:
            out.update(N=float(counts["non_embedding"]), N_embed=float(counts["embedding"]),
                       N_total=float(counts["total"]), N_note=f"counted from {by_leaf['model_type']} config")
        vocab = _number(by_leaf.get("vocab_size"))
        if vocab:
            out["vocab_size"] = vocab
        return out  # a model config says nothing about training batches
    for field, names in FIELDS.items():
        for name in names:
            raw = by_leaf.get(name)
            if field == "devices" and isinstance(raw, (list, tuple)):  # Lightning's devices=[0, 1]
                raw = len(raw) or None
            elif field == "devices" and isinstance(raw, str) and "," in raw:  # devices="0,1"
                raw = len([d for d in raw.split(",") if d.strip()]) or None
            value = _number(raw)
            if value is not None:
                out[field] = value
                break
    return out


def read_sidecar(path) -> dict[str, dict]:
    """A ``runs.csv``-style table → ``{run: {field: value, ...}}`` (other columns are kept as they are)."""
    from .tables import read_table

    frame, source = read_table(path)
    columns = {normalize(c): c for c in frame.columns}
    run_col = next((columns[n] for n in _RUN_COLUMNS if n in columns), None)
    if run_col is None:
        raise InputError("has no run column", path=path,
                         hint="name the runs in a column 'run', as they are named in the logs")
    names = frame[run_col].astype("string")
    if names.isna().any():
        i = int(names.isna().to_numpy().argmax())
        raise InputError("run name is missing", column=str(run_col), hint="name every run", **source.at(i))
    repeated = names.duplicated(keep=False).to_numpy()
    if repeated.any():
        i = int(np.flatnonzero(repeated)[1])
        raise InputError(f"run {names.iloc[i]!r} is listed twice", column=str(run_col),
                         hint="give one row per run", **source.at(i))
    fields: dict[str, str] = {}
    for field, aliases in FIELDS.items():
        for alias in ((field.lower(),) + aliases):
            if alias in columns and columns[alias] not in fields.values():
                fields[field] = columns[alias]
                break
    out: dict[str, dict] = {}
    for i, run in enumerate(names):
        row: dict = {}
        for field, column in fields.items():
            cell = frame[column].iloc[i]
            if pd.isna(cell) or (isinstance(cell, str) and not cell.strip()):
                continue
            value = _number(cell)
            if value is None:
                raise InputError(f"{cell!r} is not a positive number", column=str(column),
                                 hint="write plain numbers (7e9) or with a suffix (7B)", **source.at(i))
            row[field] = value
        for column in frame.columns:
            if column != run_col and column not in fields.values() and pd.notna(frame[column].iloc[i]):
                row[str(column)] = frame[column].iloc[i]
        out[str(run)] = row
    return out


def gather(run: str, log_meta: Mapping, folder: Path | None, root: Path | None,
           sidecar: Mapping[str, dict], seen: dict | None = None) -> dict:
    """Every field of one run and where it came from (``<field>_source``), by the precedence of the docstring.
    ``seen`` (one dict for the runs of one ingest) keeps what each folder was found to hold, so that a folder
    of thousands of runs is looked through once, not once per run."""
    found: dict = {}

    def take(values: Mapping, label: str) -> None:
        for field, value in values.items():
            if field not in found and value is not None:
                found[field] = value
                found.setdefault(f"{field}_source", label)

    entry = dict(sidecar_entry(run, sidecar))
    label = Path(entry.pop("_from", "runs table")).name
    entry.pop("_name", None)
    take(entry, label)
    found["_sidecar_fields"] = tuple(entry)
    logged = config_fields(log_meta)
    # counts a log states as they are (OLMo's, nanoGPT's corrected one) and what was said of them
    logged.update({k: log_meta[k] for k in _STATED if log_meta.get(k) is not None})
    if "N" in logged and "N_note" in log_meta and "N" not in found:
        found["N_source"] = f"log ({log_meta['N_note']})"
    take(logged, "log")
    for config in _configs_near(folder, root, seen):
        take(config_fields(read_config(config), config), _shown(config, root))
    return found


#: Run facts a log may state beyond the config fields (passed through as the log gives them).
_STATED = ("N", "N_total", "N_embed", "N_note", "N_flag", "devices", "num_nodes")


def sidecar_entry(run: str, sidecar: Mapping[str, dict]) -> dict:
    """The sidecar row of a run: by its full name, or by its last part when that is unambiguous (a run found
    in folder ``logs/gpt-125m`` is ``logs/gpt-125m`` and matches a row ``gpt-125m``)."""
    if run in sidecar:
        return sidecar[run]
    return sidecar.get(run.rsplit("/", 1)[-1], {})


def _shown(path: Path, root: Path | None = None) -> str:
    """A path as the user would write it: relative to the working folder when below it, else to the folder being
    read (``root``, the way run names are given), else as it is."""
    resolved = Path(path).resolve()
    for base in (Path.cwd(), root):
        if base is not None:
            try:
                return resolved.relative_to(Path(base).resolve()).as_posix()
            except ValueError:
                pass
    return str(path)


def _configs_near(folder: Path | None, root: Path | None, seen: dict | None = None) -> list[Path]:
    """Config files in ``folder`` and the folders above it, up to ``root`` (the nearest first). ``seen`` caches
    each folder's resolved path and its config files (one listing a folder, whatever the number of runs)."""
    if folder is None:
        return []
    seen = {} if seen is None else seen
    folder = _resolved(Path(folder), seen)
    top = _resolved(Path(root), seen) if root is not None else folder
    out = []
    while True:
        out += _configs_in(folder, seen)
        if folder == top or top not in folder.parents:
            break
        folder = folder.parent
    return out


def _resolved(path: Path, seen: dict) -> Path:
    key = ("resolved", path)
    if key not in seen:
        seen[key] = path.resolve()
    return seen[key]


def _configs_in(folder: Path, seen: dict) -> list[Path]:
    """The config files of one folder, in the order of :data:`CONFIG_NAMES` (listed once, then looked up)."""
    key = ("configs", folder)
    if key not in seen:
        try:
            with os.scandir(folder) as entries:
                names = {entry.name.lower() for entry in entries} & _CONFIG_SET  # as is_file() matches
        except OSError:
            names = set()
        seen[key] = [folder / name for name in CONFIG_NAMES if name in names and (folder / name).is_file()]
    return seen[key]
