"""``python -m scalinglaws.cli``: the command line."""

if __name__ == "__main__":
    from . import _entry

    _entry()
