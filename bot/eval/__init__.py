"""``newsbot eval``: the Q&A file format, grading, the report, the command."""
