"""Make the test helpers (tests/rule_cases.py) importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
