"""Builds the compiled core (``lstmzip._core``); everything else is in pyproject.toml.

``-ffp-contract=off``: no multiply-add is fused into an FMA, which would change float32 results
(Adam) from one machine to another. The matrix products' own kernels alone contract (their
``PRODUCT_KERNEL`` attribute in ``_core.c``): their products and sums are integers below 2**53, so
fused or not they are the same bits. Never ``-ffast-math``: it allows reordering and other roundings.
``-O3 -fno-math-errno -fno-trapping-math`` (after ``-fno-fast-math``, which turns both back on):
Adam's loop is vectorized, with ``sqrtf`` as one instruction and its clipping as a blend. Neither
changes a value (only errno and the floating-point exception flags, which nothing reads); each lane
is the same IEEE operation as a scalar, and no sum is reordered without ``-fassociative-math``.
``optional``: where it cannot be built (no C compiler), the package installs without it and runs
the reference implementations (``lstmzip/compiled.py``), which write the same archives, slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lstmzip._core",
            sources=["lstmzip/_core.c"],
            extra_compile_args=[
                "-O3",
                "-ffp-contract=off",
                "-fno-fast-math",
                "-fno-math-errno",
                "-fno-trapping-math",
                "-std=c11",
            ],
            optional=True,
        )
    ]
)
