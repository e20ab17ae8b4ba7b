"""Autograding with nbgrader: releasing exercises, grading submissions, feedback and grades."""
