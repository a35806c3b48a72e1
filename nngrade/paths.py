"""Where things are: the project's root, and the folders of an exercise's files (the one place that knows)."""
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent
GRADERS = REPO / "graders"
REFERENCE = REPO / "reference"
EXERCISE_STUBS = REPO / "exercises"
DATA = REPO / "data"
