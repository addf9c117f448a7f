"""The servers test-rig starts and the binaries they need: the MariaDB and TiDB sandboxes (sandbox.py), finding
and building mariadbd, tidb-server and toxiproxy-server (binaries.py, tidb_build.py, toxiproxy_build.py)."""
