"""The isolation anomaly catalogue (after Hermitage) and its run: `catalogue` (one small declarative test each,
with its judge), `runner` (sessions at a level, one test's script through the coordinator, the run's own
schema), `scaled` (the many-row variants), `report` (table, profiles, replayable scripts, JUnit), `suite` (the
command's run: every level, the profile comparison, the result) and `console` (its progress and summary)."""
