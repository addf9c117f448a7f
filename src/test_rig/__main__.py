"""`python -m test_rig` runs the command line (whose first instructions take over SIGINT and SIGTERM: see
cli/__init__.py)."""

from test_rig.cli import main

main()
