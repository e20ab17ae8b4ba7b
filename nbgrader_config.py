"""nbgrader configuration of the course: solutions/ is the source, exercises/ the release.

Run nbgrader from the repository root (or through `adl4cv-grade`, which does). Two preprocessors
of the course replace nbgrader defaults, see adl4cv_grading/preprocessors.py:
warnings printed on stderr by correct code do not cost points, and feedback never shows the
source of hidden tests.
"""

from adl4cv_grading.preprocessors import autograde_preprocessors, feedback_preprocessors

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "adl4cv"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell limit while grading; training cells of an exercise must finish well inside it.
c.Execute.timeout = 120
c.Autograde.autograde_preprocessors = autograde_preprocessors()
c.GenerateFeedback.preprocessors = feedback_preprocessors()
