"""Logic-bug hunting (`test-rig hunt`): generated queries whose results must agree, checked by oracles (TLP,
NoREC, differential plans, unexpected errors); every finding confirmed on a fresh database, reduced, signed and
written as a self-contained .sql file. Pure where it can be: ast, render, dialect, generator, oracles, compare,
expected, reduce and finding take data and return data; only runner talks to a server (processes spreads it over
worker processes). main is the command's one call (options to a spec, the run, its RunResult); report renders
that result (console, JUnit) and html its HTML section."""
