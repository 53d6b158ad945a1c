"""``python -m autocoder``: the same command line as ``autocoder``."""

from autocoder.cli.main import main

main()
