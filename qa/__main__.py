"""Allow ``python -m qa``."""

from qa.cli import main

main()
