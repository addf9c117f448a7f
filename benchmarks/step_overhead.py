"""The coordinator's cost per scripted step when nothing blocks, against running the same statements bare.

Usage: .venv/bin/python benchmarks/step_overhead.py [--steps 2000]
Target: under 1 ms per step beyond the statement itself.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from test_rig.coordinator import Coordinator, Step
from test_rig.db import Target, connect
from test_rig.servers.sandbox import Sandbox


async def measure(port: int, steps: int) -> tuple[float, float]:
    target = Target("bench", "127.0.0.1", port, "root", "", "test", 10)
    script = [Step("T1" if i % 2 == 0 else "T2", "SELECT 1") for i in range(steps)]
    a, b = await connect(target), await connect(target)
    started = time.perf_counter()
    for i in range(steps):
        await (a if i % 2 == 0 else b).execute("SELECT 1")
    bare = time.perf_counter() - started
    await a.close()
    await b.close()
    coordinator = Coordinator([target, target], names=["T1", "T2"])
    await coordinator.open()
    started = time.perf_counter()
    result = await coordinator.run_script(script)
    scripted = time.perf_counter() - started
    await coordinator.close()
    assert not any(s.blocked or s.error for s in result.steps)
    return bare / steps * 1000, scripted / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args()
    box = Sandbox(Path(tempfile.mkdtemp(prefix="bench-steps-")))
    st = box.start()
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            bare, scripted = runner.run(measure(st.port, args.steps))
        print(f"per step: bare statement {bare:.3f} ms, scripted step {scripted:.3f} ms, "
              f"coordinator overhead {scripted - bare:.3f} ms (target < 1 ms)")
    finally:
        box.destroy()


if __name__ == "__main__":
    main()
