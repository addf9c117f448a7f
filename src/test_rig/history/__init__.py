"""Random transactional workloads that record histories, and an Elle-style checker of those histories: `model`
(operations, the JSONL/JSON/EDN readers), `edn`, `consistency` (Elle's models and anomalies), `graph` (edges and
the cycle search), `checker` (the verdict), `workloads`, `runner` (the `elle` run: load, history, check),
`check` (the `check` command's run over a history file, and the model and anomaly names both take) and `report`
(the verdict on the console and as a JUnit case, from the result dict)."""
