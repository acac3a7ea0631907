"""Level presets (JSON), installed as the package data ``lstmzip.models``."""
