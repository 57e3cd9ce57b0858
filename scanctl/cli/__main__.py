"""`python -m scanctl.cli`: the same entry point as the `scanctl` script."""

from scanctl.cli.app import main

main()
