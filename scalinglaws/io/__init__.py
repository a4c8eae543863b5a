"""Reading data into the tidy tables, and writing results atomically."""

from .atomic import atomic_write, check_output_path
from .tables import read_curves, read_points, read_table

__all__ = ["read_table", "read_points", "read_curves", "atomic_write", "check_output_path"]
