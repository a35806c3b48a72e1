"""Grade the lesson's exercises: `python grade.py 07`, `python grade.py`, `python grade.py --help`."""
import gc
import sys

from nngrade.cli import main

if __name__ == "__main__":
    status = main()
    # Everything is written and every child is gone. The interpreter's last collection would walk every object
    # numpy and pytest made, a fifth of a student's run: frozen objects are left to the operating system.
    gc.freeze()
    sys.exit(status)
