"""Free-running load: the bench workloads (`bench`: point-select and select-1, and what every workload runs on:
LoadSettings, `measure` with its breaker and nemesis, the result's console lines and JUnit cases), sysbench's
OLTP family (`oltp`), the TPC-C-style workload and its consistency check (`tpcc`, `tpcc_check`), the user's own
Locust-style workloads (`user`), the fast path for one-statement workloads (`fast`), worker processes and Ray
(`processes`), generated data (`gendata`) and the bench results' HTML section (`html`).

Each command's feature function (`bench.run`, `oltp.run`, `tpcc.run`, `user.run`, the prepares, clean-ups and
`tpcc.run_check`) takes the run's Environment and returns a RunResult, also the partial one of an interrupted
run. A workload is the operation a worker repeats, described as picklable data so worker processes and Ray
actors can build it; the loop itself is the coordinator's free-running mode (`coordinator.Coordinator.run_free`).
"""
