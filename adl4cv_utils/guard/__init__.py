"""The grading kernel's guard: what makes the judge's evidence something the student's code cannot remove.

``python -m adl4cv_utils.guard -f CONNECTION_FILE`` starts an IPython kernel with the guard
installed first (hook.py); the sandbox's kernel spec uses it. Modules: ``hook`` (the audit hook and
the window), ``policy`` (what is refused when), ``enforce`` (forbidden functions and operators made
unusable), ``recorder`` (what ran), ``seal`` (the session key, encrypted requests, signed replies).
The argument for each part is in docs/grading.md ("Threat model").
"""
