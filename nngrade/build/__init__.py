"""Building what is handed out: the student release, the Gradescope autograder zip, the stubs."""
