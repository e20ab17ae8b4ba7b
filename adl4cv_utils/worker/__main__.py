"""``python -m adl4cv_utils.worker``: serve the judge's requests (see server.py)."""

from adl4cv_utils.worker.server import serve

serve()
