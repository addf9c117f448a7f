"""Job monitoring: long-running import, DDL and statement jobs, read from the server and watched."""
