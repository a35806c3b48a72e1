"""Grade the lesson's exercises: `python grade.py 07`, `python grade.py`, `python grade.py --help`."""
import sys

from nngrade.cli import main

if __name__ == "__main__":
    sys.exit(main())
