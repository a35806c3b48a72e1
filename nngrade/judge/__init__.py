"""Judging: the exercises, what the reference gives, the comparisons, follow-through and diagnosis, one grading run."""
