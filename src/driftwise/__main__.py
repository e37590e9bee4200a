"""``python -m driftwise``: the command line."""

from driftwise.cli import main

main()
