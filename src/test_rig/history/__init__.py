"""Random transactional workloads that record histories, and an Elle-style checker of those histories."""
