"""The trusted judge of the ADL4CV exercises: instructor only, NEVER published to students.

It decides points outside every process that runs student code. ``references/`` holds the
answer-bearing reference implementations the judge (and the instructor's tests) compare with;
``make publish`` leaves this whole package out of the student tree, and a test checks that.
"""
