"""The course's grading tool: release, contract checks and batch grading around nbgrader."""
