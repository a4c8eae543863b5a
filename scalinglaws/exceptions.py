"""Exceptions and warnings raised by scalinglaws, all in one place.

Every error a user can cause subclasses :class:`ScalingLawsError`, itself a :class:`ValueError`, so
``except ValueError`` catches them. File-system problems additionally subclass the matching
:class:`OSError` (a missing file is a :class:`FileNotFoundError` too).

Warnings subclass :class:`ScalingLawsWarning` so they can be filtered as a group or one kind at a time::

    import warnings
    from scalinglaws import AtBoundWarning
    warnings.simplefilter("error", AtBoundWarning)   # make a parameter at its bound fatal
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "ScalingLawsError",
    "InputError",
    "InputFileNotFoundError",
    "OutputError",
    "LawError",
    "FitError",
    "MissingDependencyError",
    "ScalingLawsWarning",
    "AtBoundWarning",
    "ConvergenceWarning",
    "IdentifiabilityWarning",
    "ExtrapolationWarning",
    "DataWarning",
    "warn",
]


class ScalingLawsError(ValueError):
    """Base class of every error scalinglaws raises on bad input or an impossible request."""


class InputError(ScalingLawsError):
    """A data file or table cannot be used: it names the file, line/row and column, and what to do.

    Attributes ``path``, ``line`` (1-based line in the file, when known), ``row`` (0-based data row),
    ``column`` and ``hint`` hold the parts of the message separately for programs.

    >>> str(InputError("'abc' is not a number", path="runs.csv", line=7, column="N",
    ...                hint="write numbers like 7e9 or 7B"))
    "runs.csv, line 7, column 'N': 'abc' is not a number; write numbers like 7e9 or 7B"
    """

    def __init__(self, problem: str, *, path=None, line=None, row=None, column=None, hint=None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        elif self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where)
        text = f"{text}: {self.problem}" if text else self.problem
        if self.hint:
            text += f"; {self.hint}"
        return text

    def __str__(self) -> str:  # OSError subclasses would otherwise print their args tuple
        return self._message()

    def in_file(self, path) -> "InputError":
        """This error naming ``path`` (a table read before the error was found), unless it names a file."""
        if self.path is not None:
            return self
        return type(self)(self.problem, path=path, line=self.line, row=self.row, column=self.column, hint=self.hint)

    def __reduce__(self):
        kwargs = dict(path=self.path, line=self.line, row=self.row, column=self.column, hint=self.hint)
        return (_rebuild_input_error, (type(self), self.problem, kwargs))


def _rebuild_input_error(cls, problem, kwargs):
    return cls(problem, **kwargs)


class InputFileNotFoundError(InputError, FileNotFoundError):
    """The input path does not exist (also a :class:`FileNotFoundError`)."""


class OutputError(ScalingLawsError, OSError):
    """An output file cannot be written (missing folder, no permission, would overwrite an input)."""


class LawError(ScalingLawsError):
    """A law is unknown, or is used with parameters, ties or inputs it cannot take."""


class FitError(ScalingLawsError):
    """A fit cannot be run (too few points, no finite objective at any start, ...)."""


class MissingDependencyError(ScalingLawsError, ImportError):
    """An optional dependency is needed for this feature; the message says which extra to install."""


class ScalingLawsWarning(UserWarning):
    """Base class of every warning scalinglaws emits."""


class AtBoundWarning(ScalingLawsWarning):
    """A fitted parameter ended on one of its bounds: the law may be mis-specified or not identifiable."""


class ConvergenceWarning(ScalingLawsWarning):
    """The optimizer did not report convergence, or the best starts disagree."""


class IdentifiabilityWarning(ScalingLawsWarning):
    """The data do not pin the parameters down (near-singular curvature, strongly correlated parameters)."""


class DataWarning(ScalingLawsWarning):
    """The data are thin for the question asked: few points per parameter, a narrow range, outlying runs."""


class ExtrapolationWarning(ScalingLawsWarning):
    """A prediction is far outside the range of the data the law was fitted on."""


def warn(message: str, category: type[Warning] = ScalingLawsWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside scalinglaws (so filters and messages
    point at the user's code, not at ours)."""
    package = os.path.dirname(os.path.abspath(__file__))
    level, frame = 2, sys._getframe(1)  # stacklevel 2 = our caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)
