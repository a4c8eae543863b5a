"""Reading data into the tidy tables (plain tables and training logs of many tools), and writing results
atomically."""

from .architecture import count_parameters
from .atomic import atomic_write, check_output_path
from .ingest import Ingested, ingest
from .points import points_from_curves
from .tables import read_curves, read_points, read_table, write_table

__all__ = ["read_table", "read_points", "read_curves", "ingest", "Ingested", "points_from_curves",
           "count_parameters", "write_table", "atomic_write", "check_output_path"]
