"""Allow ``python -m hull``."""

from hull.cli.main import main

main()
