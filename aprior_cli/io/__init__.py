"""Reading and writing files: tables by extension, atomic writes."""

from aprior_cli.io.atomic import atomic_path, atomic_write_text
from aprior_cli.io.tables import read_table, write_table

__all__ = ["atomic_path", "atomic_write_text", "read_table", "write_table"]
