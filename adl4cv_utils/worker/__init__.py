"""What runs beside the student's code when the judge grades it (public: contains no answers).

The judge (``adl4cv_judge``, instructor only, another process) starts ``python -m
adl4cv_utils.worker`` in the grading sandbox, sends it the submission's cells to execute and then
asks it to run *probes*: small harnesses that call the student's functions and classes on inputs
the judge chose and return the raw outputs. Only plain data crosses back (``codec``); the judge
computes every reference and every verdict itself. Nothing here decides a point.
"""
