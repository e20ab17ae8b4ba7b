"""The judge: trusted code that decides every point, in a process that never runs student code.

INSTRUCTOR ONLY. This package holds references and hidden-test logic; it is never published and
never visible inside the grading sandbox (see docs/grading.md for the threat model).

For one submission the judge (run.py) starts a worker (``adl4cv_utils.worker``) in the sandbox,
sends it the notebook's cells one by one, and at every test cell runs that cell's judge test
(assignments/<topic>.py): the test draws inputs from a seed the student never saw, asks the
worker to run probes on them, decodes the plain data that comes back (``adl4cv_utils.worker.codec``),
computes the reference itself and rules. A static analysis of the submitted source (static.py) and
the worker's trace of torch calls decide whether a unit delegated to the library it was meant to
re-implement (rules.py).
"""
