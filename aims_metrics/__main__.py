"""`python -m aims_metrics`: see aims_metrics.cli."""

import sys

from aims_metrics.cli import main

if __name__ == "__main__":
    sys.exit(main())
