"""`python -m test_rig` runs the command line (whose first instructions take over SIGINT and SIGTERM: see
startup.py)."""

from test_rig.cli import main

main()
