"""The compiled extension ``lstmzip._core`` (``_core.c``), where it is built and not switched off.

Every part it speeds up keeps its Python/torch implementation as the reference and test oracle;
``LSTMZIP_REFERENCE=1`` in the environment selects those everywhere (read when a model is made).
"""

from __future__ import annotations

import os
from types import ModuleType

try:
    from lstmzip import _core
except ImportError:  # a source checkout without ``pip install -e .``: the reference implementations serve
    _core = None

REFERENCE_ENVIRONMENT = "LSTMZIP_REFERENCE"


def compiled_core() -> ModuleType | None:
    """The extension module, or None where it is not built or the reference path is asked for."""
    if _core is None or os.environ.get(REFERENCE_ENVIRONMENT, "") == "1":
        return None
    return _core
