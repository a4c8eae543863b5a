"""Saving and loading results: :func:`save` writes a fit or a bootstrap as JSON, atomically; :func:`load` reads
either back (the file says which). This is where files meet the results, so fitting itself never touches a file.

    sl.save(sl.bootstrap(fit, 200), "fit.json")     # the fit and its replicates
    result = sl.load("fit.json")                    # a BootstrapResult (a FitResult when none were stored)
"""

from __future__ import annotations

from pathlib import Path

from .exceptions import InputError, InputFileNotFoundError, LawError, ScalingLawsError
from .fitting.resample import BootstrapResult
from .fitting.result import FitResult, parse_json
from .io.atomic import atomic_write

__all__ = ["save", "load", "RESULT_TYPES"]

#: The result types a file can hold, by the ``format`` key of its JSON.
RESULT_TYPES = {"scalinglaws.FitResult": FitResult, "scalinglaws.BootstrapResult": BootstrapResult}
#: Largest result file read (bytes): a fit of a million points is far below it.
_MAX_BYTES = 1 << 30


def save(result: FitResult | BootstrapResult, path) -> Path:
    """Write ``result`` as JSON to ``path``, atomically (a reader never sees half a file)."""
    if not hasattr(result, "to_json"):
        raise ScalingLawsError(f"cannot save a {type(result).__name__}; save a FitResult or a BootstrapResult")
    text = result.to_json()
    with atomic_write(path) as handle:
        handle.write(text)
    return Path(path)


def load(path) -> FitResult | BootstrapResult:
    """Read a result written by :func:`save` (or ``scalinglaws fit --out``): a :class:`FitResult`, or a
    :class:`BootstrapResult` when the file holds bootstrap replicates.

    Raises :class:`~scalinglaws.exceptions.InputError` (naming the file) for anything else: a missing or truncated
    file, a file of another kind, a damaged or hand-edited one (values outside the law's bounds, say).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError("file not found", path=path, hint="check the path")
    if not path.is_file():
        raise InputError("is not a regular file", path=path, hint="give the JSON file 'scalinglaws fit --out' wrote")
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise InputError("too large to be a scalinglaws result", path=path, hint="give a fit's JSON file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read ({err})", path=path, hint="give a JSON file from 'scalinglaws fit --out'") from None
    try:
        data = parse_json(text)
        kind = RESULT_TYPES.get(data.get("format"))
        if kind is None:
            raise InputError("not a scalinglaws fit result", hint="give a file written by 'scalinglaws fit --out'")
        return kind.from_dict(data)
    except InputError as err:
        raise err.in_file(path) from None
    except LawError as err:  # a law the file names but this session cannot rebuild
        raise InputError(str(err), path=path) from None
