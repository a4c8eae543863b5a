"""Reading data into the tidy tables (plain tables and training logs of many tools), and writing outputs
atomically. :func:`read_input` is the one way in: a table of runs, a table of steps, or logs."""

from .architecture import count_parameters
from .atomic import atomic_write, check_output_path
from .formats import LogFormat, register_format
from .ingestion import Ingested, ingest
from .inputs import Input, LogOptions, ReadOptions, is_log, read_input
from .points import points_from_curves
from .tables import read_curves, read_points, read_table, write_table

__all__ = ["read_input", "ReadOptions", "LogOptions", "Input", "is_log", "read_table", "read_points", "read_curves",
           "ingest", "Ingested", "points_from_curves", "count_parameters", "write_table", "atomic_write",
           "check_output_path", "LogFormat", "register_format"]
