"""The standard flows: `basic` (connect, query, close), `multi` (many connections at once), `run` (the user's
handlers, registered for the flow's states and judged) and the loading of those handlers (plugins)."""
