"""Read plain tables (CSV, TSV, JSON Lines, JSON, Parquet) into the tidy points and curves tables.

The format is chosen by extension (``.csv``, ``.tsv``/``.tab``, ``.jsonl``/``.ndjson``, ``.json``,
``.parquet``/``.pq``, compressed ``.gz``/``.bz2``/``.xz``/``.zst`` variants of the text formats) or, for other
names, by sniffing the content. Every problem is an :class:`~scalinglaws.exceptions.InputError` that names
the file and, where it can, the line.
"""

from __future__ import annotations

import csv
import gzip
import json
import lzma
import re
import zlib
from pathlib import Path
from functools import partial
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import InputError, InputFileNotFoundError, MissingDependencyError
from ..schema import Source, curves_table, points_table
from .limits import refuse_special

__all__ = ["read_table", "read_points", "read_curves", "write_table"]

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
_TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                 ".json": "json"}


def _format_of(path: Path, head: bytes) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in (".parquet", ".pq") or head.startswith(b"PAR1"):
        return "parquet", None
    if ext in _TEXT_FORMATS:
        return _TEXT_FORMATS[ext], compression
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "jsonl", compression
    if stripped.startswith(b"["):
        return "json", compression
    return "text", compression


def _read_bytes(path: Path, compression: str | None) -> bytes:
    if compression is None:
        return path.read_bytes()
    import bz2
    import gzip
    import lzma

    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(compression)
    if opener is None:
        raise InputError(f"{compression} compression is not supported here", path=path,
                         hint="decompress the file first")
    try:
        with opener(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, lzma.LZMAError) as err:
        raise InputError(f"cannot decompress ({err})", path=path,
                         hint="the file is truncated or not really compressed") from None


def decode_text(path: Path, data: bytes, *, what: str = "table",
                hint: str = "give a CSV, TSV, JSON Lines or Parquet file") -> str:
    """``data`` as text: UTF-16 with a BOM, else UTF-8 (with or without BOM); binary content or a byte that is
    not UTF-8 is an :class:`InputError` naming the file (and the line of the bad byte). ``what`` and ``hint``
    say what the file should have been."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("not valid UTF-16 text", path=path, hint="re-save the file as UTF-8") from None
    if b"\x00" in data[:65536]:
        raise InputError(f"binary content, not a text {what}", path=path, hint=hint)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(f"byte 0x{data[err.start]:02x} is not valid UTF-8", path=path, line=line,
                         hint="re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None


def _sniff_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return r"\s+" if re.search(r"\S\s+\S", sample.splitlines()[0] if sample else "") else ","


def _read_delimited(path: Path, sep: str, compression: str | None, encoding: str,
                    literal_nan: bool, header_only: bool = False) -> tuple[pd.DataFrame, Source]:
    """pandas reads the file itself (no copy of its text in memory); blank lines are dropped and counted."""
    options = {"keep_default_na": False, "na_values": [""]} if literal_nan else {}
    if header_only:
        options["nrows"] = 0
    frame = None
    if literal_nan and not header_only and compression is None and encoding == "utf-8-sig":
        from .fastcsv import read_fast

        frame = read_fast(path, sep)  # pyarrow, when installed, for large files: the same table, or None
    try:
        if frame is None:
            frame = pd.read_csv(path, sep=sep, skip_blank_lines=False, compression=compression, encoding=encoding,
                                engine="python" if len(sep) > 1 else "c", **options)
    except UnicodeDecodeError:
        decode_text(path, _read_bytes(path, compression))  # names the line of the first bad byte
        raise
    except pd.errors.EmptyDataError:
        raise InputError("file is empty", path=path, hint="give a table with a header row and data rows") from None
    except (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile) as err:  # a cut-off compressed file
        raise InputError(f"cannot decompress ({err})", path=path,
                         hint="the file is truncated or not really compressed") from None
    except pd.errors.ParserError as err:
        m = re.search(r"line (\d+)", str(err))
        found = re.search(r"Expected (\d+) fields.*saw (\d+)", str(err))
        problem = (f"expected {found[1]} fields, saw {found[2]}" if found
                   else str(err).strip().splitlines()[-1])
        raise InputError(problem, path=path, line=int(m[1]) if m else None,
                         hint="check for stray separators or unquoted commas") from None
    _check_header(path, frame, sep, compression, encoding)
    blank = frame.iloc[:, 0].isna().to_numpy(copy=True) if frame.shape[1] else np.zeros(0, dtype=bool)
    if blank.any() and frame.shape[1] > 1:  # a blank line is missing in every column
        blank[blank] = frame.loc[blank].isna().all(axis=1).to_numpy()
    if blank.any():
        lines = np.flatnonzero(~blank) + 2  # the header is line 1
        frame = frame.loc[~blank].reset_index(drop=True)
        source = Source(str(path), lines)
    else:
        source = Source(str(path), offset=2)
    frame.attrs["blank_rows"] = int(blank.sum())
    return frame, source


def _check_header(path: Path, frame: pd.DataFrame, sep: str, compression, encoding: str) -> None:
    """Refuse two columns of one name: pandas renames the second ``N`` to ``N.1``, which would go unsaid."""
    names = set(map(str, frame.columns))
    if not any(m and m[1] in names for m in map(re.compile(r"^(.*)\.\d+$").match, names)):
        return
    header = pd.read_csv(path, sep=sep, header=None, nrows=1, compression=compression, encoding=encoding,
                         engine="python" if len(sep) > 1 else "c", dtype=str).iloc[0].tolist()
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(f"{header.count(name)} columns are named {name!r}", path=path, line=1,
                             column=str(name), hint="rename them so that each column has its own name")
        seen.add(name)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    """``object_pairs_hook`` refusing an object with one key twice (which value was meant is a guess)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


def _read_jsonl(path: Path, text: str) -> tuple[pd.DataFrame, Source]:
    records, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys)
        except _DuplicateKey as err:
            raise InputError(f"key {err.args[0]!r} appears twice in this object", path=path, line=number,
                             column=err.args[0], hint="keep one value per key") from None
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON ({err.msg} at character {err.colno})", path=path,
                             line=number, hint="each line must be one JSON object") from None
        except RecursionError:
            raise InputError("JSON nested too deeply to be a table row", path=path, line=number,
                             hint="each line must be one flat JSON object") from None
        if not isinstance(record, dict):
            raise InputError("line is not a JSON object", path=path, line=number,
                             hint="each line must be one JSON object like {\"N\": 7e9, ...}")
        records.append(record)
        lines.append(number)
    if not records:
        raise InputError("file is empty", path=path, hint="give one JSON object per line")
    return pd.DataFrame.from_records(records), Source(str(path), np.asarray(lines))


def _read_json(path: Path, text: str) -> tuple[pd.DataFrame, Source]:
    if not text.strip():
        raise InputError("file is empty", path=path,
                         hint="give a list of records [{...}, ...] or columns {\"N\": [...], ...}")
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as err:
        raise InputError(f"key {err.args[0]!r} appears twice in one object", path=path, column=err.args[0],
                         hint="keep one value per key") from None
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path=path, line=err.lineno,
                         hint="the file may be truncated") from None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a table", path=path,
                         hint="give a list of flat records [{...}, ...] or columns {\"N\": [...], ...}") from None
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data), Source(str(path))
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        try:
            return pd.DataFrame(data), Source(str(path))
        except ValueError:
            raise InputError("the columns have different lengths", path=path,
                             hint="give {column: [values...]} with equal lengths") from None
    raise InputError("JSON is not a table", path=path,
                     hint="give a list of records [{...}, ...] or columns {\"N\": [...], ...}")


def _read_parquet(path: Path) -> tuple[pd.DataFrame, Source]:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "reading Parquet needs pyarrow; install it with: pip install 'scalinglaws[parquet]'") from None
    try:
        with open(path, "rb") as handle:  # opened here, so that the read is recorded (never overwritten)
            frame = pd.read_parquet(handle)
    except Exception as err:  # pyarrow raises its own ArrowInvalid/OSError family on corrupt files
        raise InputError(f"cannot read as Parquet ({type(err).__name__}: {err})", path=path,
                         hint="the file may be truncated or not Parquet") from None
    return frame, Source(str(path))


def read_table(path, *, literal_nan: bool = False, header_only: bool = False) -> tuple[pd.DataFrame, Source]:
    """Read a table file as-is (no column renaming) and return it with its :class:`Source`.

    Blank lines of text formats are ignored (their count is in ``frame.attrs["blank_rows"]``); every
    other line must parse. The source maps each row back to its line for error messages. Delimited files
    are read by pandas straight from disk. With ``literal_nan``, only empty cells are missing values: a cell
    reading ``nan`` stays text (so that a logged NaN can be told from a value that was not logged). With
    ``header_only``, a delimited file gives only its columns (no rows are parsed); other formats are read whole.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError("file not found", path=path, hint="check the path")
    if path.is_dir():
        raise InputError("is a folder, not a table file", path=path,
                         hint="give a .csv, .tsv, .jsonl, .json or .parquet file")
    refuse_special(path)  # a named pipe or a device would block or never end
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as err:
        raise InputError(f"cannot read ({err.strerror})", path=path, hint="check the permissions") from None
    if not head.strip():
        raise InputError("file is empty", path=path, hint="give a table with a header row and data rows")
    kind, compression = _format_of(path, head)
    if kind == "parquet":
        return _read_parquet(path)
    if kind in ("jsonl", "json"):
        text = decode_text(path, _read_bytes(path, compression))
        if not text.strip():
            raise InputError("file is empty", path=path, hint="give a table with a header row and data rows")
        return _read_jsonl(path, text) if kind == "jsonl" else _read_json(path, text)
    utf16 = compression is None and head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if compression is None and not utf16:
        if b"\x00" in head:
            decode_text(path, head)  # binary content
        decode_text(path, head[: head.rfind(b"\n") + 1] or head)  # refuse non-UTF-8 content early
    sep = {"csv": ",", "tsv": "\t"}.get(kind) or _sniff_separator(
        (head if utf16 else head[: head.rfind(b"\n") + 1] or head).decode("utf-16" if utf16 else "utf-8", "replace"))
    return _read_delimited(path, sep, compression, "utf-16" if utf16 else "utf-8-sig", literal_nan, header_only)


def read_points(data, *, columns: Mapping[str, str] | None = None,
                require: Sequence[str] = ("N", "D")) -> pd.DataFrame:
    """Read a file (or take a DataFrame) and return the validated points table.

    Parameters
    ----------
    data : path or pandas.DataFrame
        A CSV/TSV/JSONL/JSON/Parquet file with one row per run, or a DataFrame.
    columns : mapping, optional
        Canonical name → column name, for columns the aliases do not recognise, e.g.
        ``{"N": "non_embedding_params"}``.
    require : sequence of str
        Inputs that must be present or derivable (a law's inputs); see :func:`~scalinglaws.schema.points_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> read_points(pd.DataFrame({"N": ["70B"], "D": ["1.4T"], "loss": [1.94]}))["C"].item()
    5.88e+23
    """
    return _read(data, columns, partial(points_table, require=tuple(require)))


def read_curves(data, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read a file (or take a DataFrame) and return the validated curves table (run, step, tokens, lr, loss)."""
    return _read(data, columns, curves_table)


def _read(data, columns, build) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return build(data, columns=columns)
    frame, source = read_table(data)
    table = build(frame, columns=columns, source=source)
    table.attrs["source"] = source.path
    table.attrs["blank_rows"] = frame.attrs.get("blank_rows", 0)
    return table


#: File extensions :func:`write_table` writes.
WRITABLE = (".csv", ".tsv", ".jsonl", ".parquet")


def _writable(path: Path) -> str:
    from ..exceptions import OutputError

    ext = path.suffix.lower()
    if ext not in WRITABLE:
        raise OutputError(f"{path}: write tables as {', '.join(WRITABLE)}")
    if ext == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise MissingDependencyError("writing Parquet needs pyarrow; install it with: "
                                         "pip install 'scalinglaws[parquet]'") from None
    return ext


def write_table_to(frame: pd.DataFrame, handle, path: Path) -> None:
    """Write ``frame`` to an open handle (binary for Parquet, text otherwise) in the format ``path`` names."""
    ext = _writable(Path(path))
    if ext == ".parquet":
        frame.to_parquet(handle, index=False)
    elif ext == ".jsonl":
        frame.to_json(handle, orient="records", lines=True)
    else:
        frame.to_csv(handle, index=False, sep="\t" if ext == ".tsv" else ",")


def write_table(frame: pd.DataFrame, path) -> Path:
    """Write a table atomically, in the format its extension names (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet``).

    Parquet needs pyarrow (``pip install 'scalinglaws[parquet]'``).
    """
    from .atomic import atomic_write

    path = Path(path)
    binary = _writable(path) == ".parquet"
    with atomic_write(path, "wb" if binary else "w") as handle:
        write_table_to(frame, handle, path)
    return path


def is_missing(value) -> bool:
    """Whether a table cell holds no number or text: None, NaN, ±inf, ``pd.NA`` or ``NaT``."""
    if isinstance(value, (float, np.floating)):
        return not np.isfinite(value)
    return value is None or (not isinstance(value, (str, bytes)) and pd.api.types.is_scalar(value)
                             and bool(pd.isna(value)))


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3f", na: str | None = None) -> str:
    """``frame`` as a GitHub markdown table (pandas' ``to_markdown`` needs the optional tabulate package):
    floats formatted with ``floatfmt``; with ``na``, missing values (see :func:`is_missing`) are written as it."""
    def cell(value) -> str:
        if na is not None and is_missing(value):
            return na
        return format(value, floatfmt) if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
