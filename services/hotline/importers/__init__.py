"""Importers: CSV exports of real hotlines -> events of the hotline.events.v1 contract.

Consumes CSV text (NYC, Boston, San Francisco or Chicago 311, or any CSV described by a
mapping TOML file); produces JSON-ready event dicts, a problem for every row that could
not be converted, and the duplicate labels a preset reads from the source's own marks. Pure: no Kafka, no wall clock, no files opened here (the `hotline import`
commands open them).

- `convert.py`   the one converter every source goes through, and its rules
- `mapping.py`   `ColumnMapping` and `load_mapping(path)` for mapping TOML files
- `sources.py`   built-in mappings `NYC311`, `BOSTON311`, `SF311`, `CHICAGO311`
- `labels.py`    duplicate labels from the sources' own marks (closure reasons, notes, flags)
- `localtime.py` local export times -> RFC 3339 with the right offset (DST)
- `normalise.py` cell cleaning: whitespace, categories, office slugs, length limits
"""

from hotline.importers.convert import Conversion, CsvFileError, ImportProblem, Label, convert_csv, convert_rows
from hotline.importers.mapping import ColumnMapping, Columns, LocationColumns, load_mapping
from hotline.importers.sources import BOSTON311, BUILT_IN_MAPPINGS, CHICAGO311, NYC311, SF311

__all__ = [
    "BOSTON311",
    "BUILT_IN_MAPPINGS",
    "CHICAGO311",
    "NYC311",
    "SF311",
    "ColumnMapping",
    "Columns",
    "Conversion",
    "CsvFileError",
    "ImportProblem",
    "Label",
    "LocationColumns",
    "convert_csv",
    "convert_rows",
    "load_mapping",
]
