"""A faster reader for large delimited logs: pyarrow's multithreaded CSV reader, giving exactly the table that
pandas' C engine gives, or nothing.

:func:`read_fast` is tried by :func:`scalinglaws.io.tables.read_table` for large uncompressed CSV/TSV files read
the way logs are read (only an empty cell is missing). It returns the same columns in the same order, with the
same dtypes, values and missing cells as ``pandas.read_csv(path, sep=sep, keep_default_na=False,
na_values=[""], skip_blank_lines=False)``, or ``None``, and then the C engine reads the file. How it stays
identical:

* the column names and the dtypes come from the C engine itself, run on the file's first MiB; pyarrow then
  reads the whole file with those types fixed (which also keeps its memory near the table's size: with fixed
  types it converts each block as it goes instead of keeping the parsed text for later re-inference);
* anything the C engine would read differently makes pyarrow fail, or is found after the read, and gives
  ``None``: a cell that is not a number in a numeric column (pyarrow refuses it; the C engine would make the
  column text), a number with a fraction in an integer column, ``nan``/``inf`` cells (pyarrow reads them as
  floats, the C engine keeps them as text), blank lines in a table of several columns, duplicate or unnamed
  columns, invalid UTF-8, booleans, dates, or integers past int64;
* an integer column with empty cells becomes float64 with NaN, as the C engine makes it.

Without pyarrow (``pip install 'scalinglaws[fast]'``), or for files under :data:`FAST_FROM` bytes, the C engine
reads every file, with the same results.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .._parallel import thread_map, usable_cores

__all__ = ["read_fast", "FAST_FROM", "available"]

#: Files at least this large (bytes) are read by pyarrow when it is installed; smaller ones by the C engine
#: (pyarrow's set-up costs more than it saves on them).
FAST_FROM = 16 * 2**20
#: How much of the file's beginning the C engine reads to give the columns and their dtypes.
_HEAD = 2**20
#: pyarrow's block size (None: its default; tests make it small).
_BLOCK = None
#: Threads copying the numeric columns out of arrow's memory (at most 2: the copies are bound by memory).
_THREADS = min(2, usable_cores())


def available() -> bool:
    """Whether pyarrow's CSV reader can be imported."""
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def read_fast(path: Path, sep: str) -> pd.DataFrame | None:
    """The C engine's table of ``path`` (see the module docstring), read by pyarrow; None when pyarrow is not
    installed, the file is small, or pyarrow might read it differently."""
    path = Path(path)
    try:
        if sep not in (",", "\t") or path.stat().st_size < FAST_FROM:
            return None
        import pyarrow as pa
        import pyarrow.csv as pc
    except (ImportError, OSError):
        return None
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    head = head[: head.rfind(b"\n") + 1]
    if not head:
        return None
    # a quoted newline where pyarrow splits the file into blocks would cut a row in two (silently): the split
    # minds quotes (slower) when the file holds any
    parse = pc.ParseOptions(delimiter=sep, quote_char='"', double_quote=True, escape_char=False,
                            newlines_in_values=_has_quote(path), ignore_empty_lines=False)
    try:
        sample = pd.read_csv(io.BytesIO(head), sep=sep, keep_default_na=False, na_values=[""],
                             skip_blank_lines=False, encoding="utf-8-sig")
        shown = pc.read_csv(io.BytesIO(head), parse_options=parse, convert_options=pc.ConvertOptions(
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))
    except Exception:  # anything the C engine or pyarrow cannot read there: the C engine reads it, and says why
        return None
    names = list(sample.columns)
    if shown.column_names != names or len(set(names)) != len(names) or len(names) < 2:
        return None
    types, dtypes = {}, {}
    for name in names:
        dtype, seen = sample[name].dtype, shown.schema.field(name).type
        if dtype == np.int64 and pa.types.is_int64(seen):
            types[name] = pa.int64()
        elif dtype == np.float64 and (pa.types.is_floating(seen) or pa.types.is_int64(seen)
                                      or pa.types.is_null(seen)):
            types[name] = pa.float64()
        elif isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and pa.types.is_string(seen):
            types[name] = pa.large_string()  # a cell of the head is text to the C engine: so is the column
        else:
            return None
        dtypes[name] = dtype
    try:
        table = pc.read_csv(path, read_options=pc.ReadOptions(use_threads=True, encoding="utf8",
                                                              block_size=_BLOCK),
                            parse_options=parse,
                            convert_options=pc.ConvertOptions(column_types=types, null_values=[""],
                                                              strings_can_be_null=True,
                                                              quoted_strings_can_be_null=True),
                            memory_pool=pa.system_memory_pool())
    except Exception:
        return None
    if table.column_names != names:
        return None
    n = table.num_rows
    columns = table.columns
    del table
    text = {i for i, name in enumerate(names) if isinstance(dtypes[name], pd.StringDtype)}
    out = {names[i]: pd.array(columns[i], dtype=dtypes[names[i]]) for i in sorted(text)}
    numeric = [i for i in range(len(names)) if i not in text]
    # the copies are bound by memory, and fresh pages fault in parallel
    numbers = thread_map(lambda i: _numbers(columns, i, n), numeric, _THREADS)
    if any(values is None for values in numbers):
        return None  # a nan/inf cell: text to the C engine
    out.update(zip((names[i] for i in numeric), numbers))
    return pd.DataFrame({name: out[name] for name in names}, copy=False)


def _has_quote(path: Path, size: int = 2**22) -> bool:
    """Whether the file holds a double quote anywhere (one pass, at memory speed)."""
    buffer = bytearray(size)
    with path.open("rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            if buffer.find(b'"', 0, n) >= 0:
                return True
    return False


def _numbers(columns: list, i: int, n: int) -> np.ndarray | None:
    """The numeric arrow column ``columns[i]`` as one owned numpy array, copied chunk by chunk (int64 with
    missing cells: float64 with NaN), its arrow memory let go once copied; None when a float cell is nan or inf
    (text to the C engine)."""
    column, columns[i] = columns[i], None
    if column.null_count:
        out = np.empty(n, dtype=np.float64)
    else:
        out = np.empty(n, dtype=column.type.to_pandas_dtype())
    pos = 0
    for chunk in column.chunks:
        size = len(chunk)
        out[pos : pos + size] = chunk.to_numpy(zero_copy_only=False)
        pos += size
    if out.dtype == np.float64:
        if not column.null_count:
            if not np.isfinite(out).all():
                return None
        elif np.count_nonzero(np.isnan(out)) != column.null_count or np.isinf(out).any():
            return None
    return out
