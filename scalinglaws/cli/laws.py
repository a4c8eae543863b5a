"""``scalinglaws laws``: the registered laws."""

from __future__ import annotations

import click

from ..laws import catalog
from . import options as opt
from .output import Session


@click.command("laws")
@opt.format_option
def command():
    """List the registered laws with their formulas and parameters."""
    session = Session()
    result = catalog()
    return session.present(result)
