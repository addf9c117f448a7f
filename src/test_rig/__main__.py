"""`python -m test_rig` runs the command line."""

from .cli import main

main()
