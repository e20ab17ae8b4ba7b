"""Start an IPython kernel with the guard installed before anything else (the grading kernel)."""

from __future__ import annotations

import os


def main() -> None:
    """Import what the guard needs, install it, then run ipykernel (``-f CONNECTION_FILE`` as usual)."""
    from adl4cv_utils.guard.recorder import torch_ready

    torch_ready()
    import ipykernel.ipkernel  # noqa: F401 - the kernel's own machinery, loaded before the hook exists

    import adl4cv_utils.probing  # noqa: F401 - every probe registered before the hook exists

    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:  # ipykernel's debugger loads this lazily, and it uses ctypes (which the hook refuses later)
        import debugpy._vendored.force_pydevd  # noqa: F401
        from _pydevd_bundle import pydevd_save_locals  # noqa: F401
    except ImportError:
        pass
    from adl4cv_utils.guard import hook

    hook.install()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
