"""Where the tests find the repository's files, wherever in tests/ a test module lives."""

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
MODELS_DIR = REPO_DIR / "models"
