"""Shared code of the ADL4CV course book: device, seeding, data, training, plotting and graders.

Import the parts you need, for example ``from adl4cv_utils import get_device, set_seed`` or
``from adl4cv_utils.checks import optimizers``. Each module's docstring names the chapter that
introduces it.
"""

from adl4cv_utils.device import get_device, quick_mode
from adl4cv_utils.seed import set_seed

__version__ = "0.1.0"
__all__ = ["get_device", "quick_mode", "set_seed", "__version__"]
