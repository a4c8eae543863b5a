"""One presenter for every result: :func:`render` turns anything with ``summary()`` and ``tables()`` into the
readable report (``table``) or its tables as JSON, CSV or markdown.

* ``json``: one object whose keys are the table names, each a list of records; non-finite numbers are ``null``.
* ``csv``: the tables one after the other, each after a ``# name`` line when there are several.
* ``markdown``: a ``### name`` heading and a GitHub table per table.
"""

from __future__ import annotations

import json
from typing import Mapping

import numpy as np
import pandas as pd

from .exceptions import ScalingLawsError
from .io.tables import is_missing, markdown_table

__all__ = ["FORMATS", "render", "render_tables"]

#: Output formats of :func:`render`: the readable report, or the result's tables as JSON, CSV or markdown.
FORMATS = ("table", "json", "csv", "markdown")


def render(result, fmt: str = "table") -> str:
    """``result.summary()`` for ``fmt="table"``, else ``result.tables()`` in the format asked (see the module
    docstring)."""
    if fmt not in FORMATS:
        raise ScalingLawsError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "table":
        return result.summary().rstrip("\n") + "\n"
    return render_tables(result.tables(), fmt)


def _plain(value):
    if is_missing(value):
        return None
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value if isinstance(value, (str, int, bool)) else str(value)


def render_tables(tables: Mapping[str, pd.DataFrame], fmt: str) -> str:
    """Named DataFrames as JSON, CSV or markdown (see the module docstring); ``None`` tables are left out."""
    tables = {name: frame for name, frame in tables.items() if frame is not None}
    if fmt == "json":
        data = {name: [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
                for name, frame in tables.items()}
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    if fmt not in ("csv", "markdown"):
        raise ScalingLawsError(f"tables can be written as json, csv or markdown, not {fmt!r}")
    parts = []
    for name, frame in tables.items():
        if fmt == "csv":
            text = frame.to_csv(index=False, lineterminator="\n")
            parts.append((f"# {name}\n" if len(tables) > 1 else "") + text)
        else:
            parts.append(f"### {name}\n\n{markdown_table(frame, '.6g', na='')}\n")
    return "\n".join(parts)
