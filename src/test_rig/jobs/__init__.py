"""Job monitoring: long-running import, DDL and statement jobs, read from the server and watched. `model` (a job
and its statuses), `sources` (TiDB import and DDL, MariaDB/MySQL processlist and stages), `monitor` (the poll
loop, gaps, the exit status and the result), `own` and `runner` (a job the monitor starts itself, and the
command's run), `cancel` (--cancel), `importconfig` (--import-config), `options` (the options resolved into a
plan, by precedence) and `report` (the job line, the live display, the summary and JUnit)."""
