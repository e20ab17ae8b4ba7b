"""``python -m adl4cv_utils.grading`` is the same as ``adl4cv-grade``."""

import sys

from adl4cv_utils.grading.cli import main

sys.exit(main())
