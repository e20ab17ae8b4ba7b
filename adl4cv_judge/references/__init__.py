"""Answer-bearing reference implementations of graded functions: instructor only, NEVER published.

One module per topic (``basics``, ``training``, ``visualization``), each with the contract's
answer and switchable known mistakes. ``python -m adl4cv_judge.references.expected`` regenerates
the stored expected values that the student-side self-checks compare with
(``adl4cv_utils/checks/expected/*.pt``); ``tests/checks/test_expected.py`` fails when they drift.
"""
