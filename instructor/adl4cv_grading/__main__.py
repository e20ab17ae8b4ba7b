"""``python -m adl4cv_grading`` is the same as ``adl4cv-grade``."""

import sys

from adl4cv_grading.cli import main

if __name__ == "__main__":  # Dask's worker processes import the main module again
    sys.exit(main())
