"""Make the test helpers (tests/rule_cases.py, tests/tables.py) importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
