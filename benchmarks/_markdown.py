"""A markdown table from a DataFrame (pandas' to_markdown needs the optional tabulate package)."""

from __future__ import annotations

import pandas as pd


def markdown(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """Render ``frame`` as a GitHub markdown table, floats with ``floatfmt``."""
    def cell(value) -> str:
        return format(value, floatfmt) if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
