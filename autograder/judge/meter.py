"""Peak memory of the learner's process, read from outside it.

A counter inside the notebook's process can be patched, so memory claims (``O(n)`` state,
no ``(n, n)`` matrix, checkpointing keeps fewer activations) are measured by the kernel:
the submission's memory cgroup when grading (``memory.max_usage_in_bytes``, v1, or
``memory.peak``, v2), the process's peak resident size (``VmHWM``, reset through
``/proc/<pid>/clear_refs``) in the contract runner. Both count pages actually touched, so
measure at sizes where the forms differ by megabytes, not bytes.
"""
from __future__ import annotations

from pathlib import Path


class Unmeasurable(AssertionError):
    pass


class CgroupMeter:
    def __init__(self, folder: Path):
        self.dir = Path(folder)   # made by the kernel's launcher: it may not exist yet
        self.base = 0

    @property
    def v1(self) -> bool:
        return (self.dir / "memory.max_usage_in_bytes").exists()

    def _read(self, name: str) -> int:
        return int((self.dir / name).read_text().split()[0])

    def reset(self) -> None:
        try:
            if self.v1:
                (self.dir / "memory.max_usage_in_bytes").write_text("0")
                self.base = self._read("memory.usage_in_bytes")
            else:
                (self.dir / "memory.peak").write_text("0")
                self.base = self._read("memory.current")
        except OSError as e:
            raise Unmeasurable(f"memory cannot be measured here ({e})") from None

    def peak(self) -> int:
        return self._read("memory.max_usage_in_bytes" if self.v1 else "memory.peak") - self.base


class ProcMeter:
    def __init__(self, pid: int):
        self.pid, self.base = int(pid), 0

    def _status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise Unmeasurable(f"no {key} for process {self.pid}")

    def reset(self) -> None:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.base = self._status("VmRSS")
        except OSError as e:
            raise Unmeasurable(f"memory cannot be measured here ({e})") from None

    def peak(self) -> int:
        return self._status("VmHWM") - self.base


def cgroup_meter(dirs: list[Path]):
    """The meter of a grading sandbox's memory cgroup (among its cgroup folders), or None
    where there is none."""
    for d in dirs:
        if "memory" in d.parts or (d / "memory.peak").exists():
            return CgroupMeter(d)
    return None
