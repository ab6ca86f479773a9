"""Kernels forked from a warm fork server instead of started cold (the worker's side).

A cold kernel costs about 3 s of CPU before the first learner line runs: Python, then
torch, numpy, matplotlib and ipykernel imported again for every submission. Each grading
worker therefore starts one fork server (``forkserver.py``) in a bubblewrap sandbox like the
kernels' own, which imports them once; nbgrader's kernels are then forked from it, each
isolated in its own namespaces before any learner code runs (see forkserver.py).

nbgrader stays in charge: its ``Execute`` preprocessor gets ``ForkedKernelManager``, a
jupyter_client kernel manager whose provisioner asks the fork server for the kernel process
instead of spawning one (connection file, interrupts, shutdown and the dead-kernel checks
work as with any kernel). The fork happens while the server sits in the submission's cgroup
(the worker moves it there and back), so the memory and pids limits bind the kernel.

When the fork server cannot run here (no nested user namespaces, say), the worker falls back
to a cold sandboxed kernel per submission (``sandbox.py``): slower, equally isolated.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from autograder.grading import sandbox

FORKSERVER = Path(__file__).with_name("forkserver.py")
INSIDE = "/opt/grader/forkserver.py"


class ZygoteGone(RuntimeError):
    """The fork server died or stopped answering."""


class Zygote:
    """The fork server of one worker: ``hide`` is the folder of all its submissions (bound
    writable, each kernel sees only its own subfolder), ``ipc`` the kernels' socket folder."""

    def __init__(self, hide: Path, ipc: str, limits: dict, log: Path):
        self.hide, self.ipc, self.limits, self.log = Path(hide), ipc, limits, Path(log)
        self.home = f"zygote-{uuid.uuid4().hex[:8]}"   # its own cgroup between forks
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None   # the server's pid as this process sees it
        self.lock = threading.Lock()

    # ------------------------------------------------------------ life
    def start(self, timeout: float = 120.0) -> bool:
        """Start the server and fork one probe kernel; False if this machine cannot."""
        self.hide.mkdir(parents=True, exist_ok=True)
        tmp_mb = int(self.limits.get("tmp_mb", 512))
        argv = sandbox.bwrap_base(tmp_mb, [str(self.hide), self.ipc]) + [
            "--ro-bind", str(FORKSERVER), INSIDE, "--chdir", "/tmp", sandbox.python(), INSIDE]
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         env=sandbox.inside_env(os.environ), start_new_session=True)
        try:
            if self._read(timeout) != {"ready": True}:
                raise ZygoteGone("no ready line")
            self.pid = self._server_pid()
            sandbox.enter_cgroup(self.home, int(self.limits.get("memory_mb", 6144)), 1024, pid=self.pid)
            ok = self._ask({"op": "probe", "connection": {}, "cwd": "", **self._paths(),
                            **self._rlimits()}).get("ok")
        except (ZygoteGone, OSError, ValueError):
            ok = False
        if not ok:
            self.stop()
        return bool(ok)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        sandbox.kill_cgroup(self.home)

    def _server_pid(self) -> int:
        """bwrap forks (a PID namespace's init) before the server: the newest descendant."""
        pid, seen = self.proc.pid, None
        for _ in range(5):
            kids = []
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    kids += [int(k) for k in (task / "children").read_text().split()]
            if not kids:
                break
            pid = seen = max(kids)
        if seen is None:
            raise ZygoteGone("the fork server's process was not found")
        return seen

    # ------------------------------------------------------------ requests
    def _paths(self) -> dict:
        return {"hide": str(self.hide), "ipc": self.ipc}

    def _rlimits(self) -> dict:
        return {k: int(self.limits.get(k, d)) for k, d in (("cpu_s", 1200), ("file_mb", 256), ("tmp_mb", 512))}

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            raise ZygoteGone("the fork server stopped answering")
        return json.loads(line)

    def _ask(self, msg: dict, timeout: float = 30.0) -> dict:
        with self.lock:
            if not self.alive():
                raise ZygoteGone("the fork server is not running")
            try:
                self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
                self.proc.stdin.flush()
            except OSError as e:
                raise ZygoteGone(f"the fork server stopped answering ({e})") from None
            return self._read(timeout)

    def spawn(self, connection: dict, cwd: str, cgroup: str | None) -> "ForkedKernel":
        """Fork a kernel for one submission, inside ``cgroup`` when cgroups are writable."""
        if cgroup:
            sandbox.enter_cgroup(cgroup, int(self.limits.get("memory_mb", 6144)), int(self.limits.get("pids", 128)),
                                 pid=self.pid)
        try:
            reply = self._ask({"op": "spawn", "connection": connection, "cwd": str(cwd), **self._paths(),
                               **self._rlimits()})
        finally:
            if cgroup:
                sandbox.enter_cgroup(self.home, int(self.limits.get("memory_mb", 6144)), 1024, pid=self.pid)
        return ForkedKernel(self, int(reply["pid"]))


class ForkedKernel:
    """What jupyter_client expects of a kernel's ``Popen``, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.zygote._ask({"op": "poll", "pid": self.pid})["code"]
            except ZygoteGone:
                self.returncode = -signal.SIGKILL   # the server's death takes its kernels along
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ZygoteGone):
                self.zygote._ask({"op": "signal", "pid": self.pid, "signal": int(sig)})

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


CURRENT: Zygote | None = None   # the worker's fork server (one per worker process)


class ForkedProvisioner(LocalProvisioner):
    """LocalProvisioner with the kernel process forked by the worker's fork server."""

    async def launch_kernel(self, cmd, **kwargs):
        if CURRENT is None:
            raise RuntimeError("no fork server in this process")
        connection = json.loads(Path(self.parent.connection_file).read_text())
        cgroup = json.loads(os.environ.get("DLCOURSE_SANDBOX", "{}")).get("cgroup")
        self.process = CURRENT.spawn(connection, kwargs.get("cwd") or "", cgroup)
        self.pid, self.pgid = self.process.pid, None   # no process group: signals go through the server
        self.cwd = kwargs.get("cwd")
        return self.connection_info


class ForkedKernelManager(AsyncKernelManager):
    """nbgrader's kernel manager with the fork server's provisioner (``Execute.kernel_manager_class``)."""

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)
