"""Allow ``python -m qa`` (and spark-submit of this file)."""

from qa.cli import main

if __name__ == "__main__":
    main()
