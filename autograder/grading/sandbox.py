"""A sandboxed Jupyter kernel for grading: bubblewrap + cgroup + rlimits.

nbgrader starts kernels through jupyter_client; the grader points it at the kernelspec
``course-sandbox`` (written by ``write_kernelspec``) whose command is this module. The
launcher runs outside the sandbox, in the kernel's working directory (the submission's
autograde folder), and then execs ``bwrap`` so that the kernel:

* sees the system read-only (``/usr``, ``/etc``, the Python install and the virtualenv),
  the course helper library read-only, its own folder read-write and a private ``/tmp``;
  never the repository, ``solutions/``, the gradebook or other submissions;
* has no network (``--unshare-net``): it talks to nbgrader over IPC sockets in a folder
  bound into the sandbox;
* lives in its own PID namespace (``--unshare-pid``, ``--die-with-parent``): when the
  kernel ends, every process it started ends with it, detached or not;
* is limited by a memory and a pids cgroup (v1 or v2, when writable) and by RLIMIT_CPU and
  RLIMIT_FSIZE. RLIMIT_AS is deliberately not used: at 3 GB or less torch cannot import.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from pathlib import Path

KERNEL_NAME = "course-sandbox"
LIB = Path(__file__).resolve().parents[2] / "dlcourse"   # the helper library, bound read-only


def available() -> bool:
    return shutil.which("bwrap") is not None


def write_kernelspec(jupyter_dir: Path) -> None:
    d = Path(jupyter_dir) / "kernels" / KERNEL_NAME
    d.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "autograder.grading.sandbox", "{connection_file}"],
        "display_name": "Python 3 (course grading sandbox)",
        "language": "python",
    }
    (d / "kernel.json").write_text(json.dumps(spec, indent=1))


# ---------------------------------------------------------------- cgroups

def shared_venvs() -> list[Path]:
    """Other virtualenvs whose packages are on the path: the clone's own light virtualenv
    reads torch and the rest from the shared one (see ``./course``), so the kernel needs
    that one too, read-only."""
    out = set()
    for p in map(Path, sys.path):
        if p.name == "site-packages" and len(p.parents) > 2 and (p.parents[2] / "pyvenv.cfg").exists():
            out.add(p.parents[2].resolve())
    return sorted(out)


def cgroup_dirs(name: str) -> list[Path]:
    """Memory and pids cgroup folders for this kernel (v1 hierarchies or v2), if writable."""
    base = Path("/sys/fs/cgroup")
    out = []
    for ctl in ("memory", "pids"):
        if (base / ctl).is_dir():                      # cgroup v1
            out.append(base / ctl / "dlcourse" / name)
    if not out and (base / "cgroup.controllers").exists():  # cgroup v2
        out.append(base / "dlcourse" / name)
    return out


def enter_cgroup(name: str, memory_mb: int, pids: int, pid: int | None = None) -> list[Path]:
    """Put ``pid`` (default: this process) into the named cgroups, made with these limits."""
    joined = []
    for d in cgroup_dirs(name):
        try:
            d.mkdir(parents=True, exist_ok=True)
            for f, v in (("memory.limit_in_bytes", memory_mb << 20), ("memory.max", memory_mb << 20),
                         ("pids.max", pids), ("memory.swap.max", 0)):
                if (d / f).exists():
                    (d / f).write_text(str(v))
            (d / "cgroup.procs").write_text(str(pid or os.getpid()))
            joined.append(d)
        except OSError:
            continue
    return joined


def kill_cgroup(name: str) -> None:
    """Kill every process left in a submission's cgroups and remove them."""
    import signal
    import time

    for d in cgroup_dirs(name):
        if not d.exists():
            continue
        for _ in range(50):
            try:
                pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
            except OSError:
                break
            if not pids:
                break
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        try:
            d.rmdir()
        except OSError:
            pass


# ---------------------------------------------------------------- launcher

def python() -> str:
    return str(Path(sys.prefix).resolve() / "bin" / "python")


def bwrap_base(tmp_mb: int, writable: list[str]) -> list[str]:
    """bwrap up to the command: the system, Python and the helper library read-only, the
    ``writable`` folders at their own paths, a private /tmp; no network, own PID namespace."""
    venv, base = Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()
    argv = ["bwrap", "--die-with-parent", "--new-session",
            "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "grader",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("/bin", "/sbin", "/lib", "/lib64"):
        if os.path.islink(link):
            argv += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
    argv += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys",
             "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    for p in sorted({base, venv, *shared_venvs()}):
        argv += ["--ro-bind", str(p), str(p)]
    argv += ["--ro-bind", str(LIB), "/opt/course/dlcourse"]
    for d in writable:
        argv += ["--bind", d, d]
    return argv + ["--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp/mpl",
                   "--setenv", "PYTHONPATH", "/opt/course", "--unsetenv", "JUPYTER_PATH"]


def bwrap_argv(connection_file: str, workdir: str, tmp_mb: int) -> list[str]:
    conn = json.loads(Path(connection_file).read_text())
    ipc_dir = str(Path(conn["ip"]).parent) if conn.get("transport") == "ipc" else None
    if ipc_dir is None:
        raise SystemExit("course-sandbox: the grading kernel needs jupyter_client's IPC transport")
    return bwrap_base(tmp_mb, [workdir, ipc_dir]) + [
        "--ro-bind", connection_file, connection_file, "--chdir", workdir,
        python(), "-m", "ipykernel_launcher", "-f", connection_file]


def inside_env(environ) -> dict:
    """The environment that goes into the sandbox: nothing of the grader's that points into
    the repository. (JPY_PARENT_PID: in its PID namespace the kernel's parent is pid 1,
    which ipykernel reads as "parent gone"; --die-with-parent does that job instead.)"""
    return {k: v for k, v in environ.items()
            if not k.startswith(("DLCOURSE_SANDBOX", "JUPYTER", "NBGRADER", "JPY_")) and k != "PYTHONPATH"}


def main(argv: list[str]) -> None:
    connection_file = os.path.abspath(argv[0])
    cfg = json.loads(os.environ.get("DLCOURSE_SANDBOX", "{}"))
    if cfg.get("cgroup"):
        enter_cgroup(cfg["cgroup"], int(cfg.get("memory_mb", 6144)), int(cfg.get("pids", 128)))
    cpu = int(cfg.get("cpu_s", 1200))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    fsize = int(cfg.get("file_mb", 256)) << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    args = bwrap_argv(connection_file, os.getcwd(), int(cfg.get("tmp_mb", 512)))
    os.execvpe(args[0], args, inside_env(os.environ))


if __name__ == "__main__":
    main(sys.argv[1:])
