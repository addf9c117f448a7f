"""Who carries out server faults: a sandbox on this machine (signals, restart on its port) or the user's shell
commands for a server test-rig does not own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from test_rig import timeouts
from test_rig.errors import RigError
from test_rig.servers.sandbox import Sandbox


class ServerControl(Protocol):
    """How server faults are done; each call returns one sentence saying what it did, or raises RigError."""

    description: str

    async def kill(self) -> str: ...
    async def start(self) -> str: ...
    async def pause(self) -> str: ...
    async def resume(self) -> str: ...


class SandboxControl:
    """A sandbox server on this machine: SIGKILL and restart on the same port and data, SIGSTOP and SIGCONT."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.description = f"sandbox {box.dir}"

    async def kill(self) -> str:
        st = self.box.state()
        await asyncio.to_thread(self.box.kill)
        return f"SIGKILL to the sandbox server (pid {st.pid if st else '?'})"

    async def start(self) -> str:
        st = await asyncio.to_thread(self.box.restart)
        return f"restarted the sandbox server (pid {st.pid}, port {st.port})"

    async def pause(self) -> str:
        await asyncio.to_thread(self.box.pause)
        st = self.box.state()
        return f"SIGSTOP to the sandbox server (pid {st.pid if st else '?'}), every thread stopped"

    async def resume(self) -> str:
        await asyncio.to_thread(self.box.resume)
        return "SIGCONT to the sandbox server"


class CommandControl:
    """A server test-rig does not own: the user's shell commands (`--nemesis-command kill=... start=...`)."""

    def __init__(self, commands: Mapping[str, str]) -> None:
        self.commands = dict(commands)
        self.description = "the --nemesis-command commands"

    async def _run(self, key: str) -> str:
        command = self.commands[key]
        proc = await asyncio.create_subprocess_shell(command, stdin=asyncio.subprocess.DEVNULL,
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with timeouts.timeout(120):  # not wait_for, which can drop a cancellation as the command ends
                out, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RigError(f"the {key} command did not finish within 120 s: {command}") from None
        if proc.returncode != 0:
            tail = (err or out).decode(errors="replace").strip()[-200:]
            raise RigError(f"the {key} command exited with status {proc.returncode}: {command}"
                           + (f" ({tail})" if tail else ""))
        return f"ran {key} command: {command}"

    async def kill(self) -> str:
        return await self._run("kill")

    async def start(self) -> str:
        return await self._run("start")

    async def pause(self) -> str:
        return await self._run("pause")

    async def resume(self) -> str:
        return await self._run("resume")
