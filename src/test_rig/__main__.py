"""`python -m test_rig` runs the command line."""

from test_rig.environment import PROGRAM_STOP

PROGRAM_STOP.install(loading=True)  # the program's first instruction: see ProgramStop
try:
    from test_rig.cli import main
except KeyboardInterrupt as stop:  # while the commands load, before click could parse anything
    PROGRAM_STOP.end(stop)

main()
