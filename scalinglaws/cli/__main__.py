"""``python -m scalinglaws.cli``: the command line."""

from . import _entry

_entry()
