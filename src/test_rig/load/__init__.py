"""Free-running load workloads beyond the bench's own point select: sysbench's OLTP family (`oltp`).

The loop that runs them, its per-second statistics and the worker processes are the coordinator's free-running
mode (`coordinator.Coordinator.run_free`), `bench.run_bench` and `scale`; a workload here is the operation a
worker repeats, described as picklable data so worker processes and Ray actors can build it.
"""
