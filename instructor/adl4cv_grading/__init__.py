"""The judge: trusted code that decides every point, in a process that never runs student code.

INSTRUCTOR ONLY, NEVER published to students (``make publish`` leaves this whole package out of the
student tree, and a test checks that); never visible inside the grading sandbox. See
docs/grading.md for the threat model.

During ``nbgrader autograde`` the judge runs inside nbgrader's process (kernel.py,
``JudgedExecute``): after every test cell it runs that cell's judge test (assignments/<topic>.py),
which draws inputs from a seed the student never saw, asks the grading kernel to run probes on them
(``adl4cv_utils.probing``), decodes the plain data that comes back (``adl4cv_utils.probing.codec``),
computes the reference itself and rules. ``references/`` holds the answer-bearing reference
implementations. A static analysis of the submitted source (static.py) and the kernel's trace of
torch calls decide whether a unit delegated to the library it was meant to re-implement
(rules.py). run.py judges a notebook without nbgrader, in a plain worker process (tests, tools).
"""
