"""TaskPilot AI development toolkit: the one home of the code that helpers, tests and benchmarks share.

Import it (`from taskpilot_dev import ...`); never copy from it or reach into it through paths.
"""
