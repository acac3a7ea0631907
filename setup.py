"""Builds the compiled core (``lstmzip._core``); everything else is in pyproject.toml.

``-ffp-contract=off``: no multiply-add is fused into an FMA, which would change float32 results
(Adam) from one machine to another. Never ``-ffast-math``: it allows reordering and other roundings.
``optional``: where it cannot be built (no C compiler), the package installs without it and runs
the reference implementations (``lstmzip/compiled.py``), which write the same archives, slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lstmzip._core",
            sources=["lstmzip/_core.c"],
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math", "-std=c11"],
            optional=True,
        )
    ]
)
