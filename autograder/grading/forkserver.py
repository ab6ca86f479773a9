"""The grading worker's fork server: runs inside the worker's sandbox, never runs learner code.

Started once per worker (``zygote.Zygote``) inside the same bubblewrap sandbox a kernel gets
(no network, the system read-only, the submissions' folder and the IPC folder writable), it
imports what every exercise notebook imports (torch, numpy, matplotlib, IPython, ipykernel)
and then forks one kernel per submission. Importing these costs about 3 s of CPU per kernel;
a fork costs milliseconds. Each kernel is then cut off from the server and from other
submissions before any learner code runs:

* new user, mount and PID namespaces: the kernel is PID 1 of its own namespace, so every
  process it starts ends with it, and it cannot name the server's processes;
* a fresh ``/tmp`` and ``/dev/shm``, and a tmpfs over the folder of all submissions with only
  its own submission's folder mounted back in;
* every capability dropped (bounding set too) and ``no_new_privs``, so those mounts stay;
* RLIMIT_CPU and RLIMIT_FSIZE from the request; the worker has moved the server into the
  submission's cgroup for the fork, so the memory and pids limits apply to the kernel.

This file is standalone (the sandbox has only the course's helper library on its path).
Protocol: one JSON object per line on the control pipe (its stdin and stdout), one
reply per request: ``spawn`` -> {"pid"}, ``poll`` -> {"code": exit code or None},
``signal`` -> {}, ``probe`` -> {"ok", "error"} (a spawn that sets up and exits at once).
"""
import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x2000, 0x4000, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

libc = ctypes.CDLL(None, use_errno=True)


def _call(what, fn, *args):
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _prctl(what, *args):
    _call(what, libc.prctl, *[ctypes.c_ulong(a) for a in args], *[ctypes.c_ulong(0)] * (5 - len(args)))


def _mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _call(f"mount {target}", libc.mount, enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def isolate(req):
    """In the forked child: new namespaces; returns in the kernel (PID 1 of the new
    namespace) after the intermediate process has forked it. The intermediate waits for the
    kernel, forwards interrupts to it and exits with its status."""
    _prctl("pdeathsig", PR_SET_PDEATHSIG, signal.SIGKILL)
    uid, gid = os.geteuid(), os.getegid()
    _call("unshare", libc.unshare, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    pid = os.fork()
    if pid:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda s, _f, p=pid: os.kill(p, s))
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _prctl("pdeathsig", PR_SET_PDEATHSIG, signal.SIGKILL)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # held open across the new /tmp, which may cover them (a grading folder under /tmp)
    keep = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in (req["ipc"], req["cwd"]) if p}
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(req['tmp_mb'])}m,mode=1777")
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    if req["cwd"]:   # of the worker's submissions, only its own folder
        os.makedirs(req["hide"], exist_ok=True)
        _mount("tmpfs", req["hide"], "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for path, fd in keep.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    for cap in range(64):
        if libc.prctl(ctypes.c_ulong(PR_CAPBSET_DROP), ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break   # past the last capability this kernel knows
    _prctl("ambient", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    _call("capset", libc.capset, header, (ctypes.c_uint32 * 6)())
    _prctl("no_new_privs", PR_SET_NO_NEW_PRIVS, 1)
    _prctl("dumpable", PR_SET_DUMPABLE, 1)
    cpu, fsize = int(req["cpu_s"]), int(req["file_mb"]) << 20
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    os.chdir(req["cwd"] or "/tmp")


def kernel(req, keep):
    """The forked child: isolate, then become an IPython kernel on the given connection."""
    try:
        for fd in keep:
            os.close(fd)
        isolate(req)
        with open("/tmp/.connection.json", "w") as f:
            json.dump(req["connection"], f)
        if req.get("probe"):
            os._exit(0)
        os.dup2(os.open(os.devnull, os.O_RDWR), 2)   # the worker's log is not the learner's
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=["-f", "/tmp/.connection.json"])
        os._exit(0)
    except BaseException as e:  # noqa: BLE001 - tell the worker through the exit status and stderr
        print(f"forkserver: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os._exit(70)


def preload():
    import IPython  # noqa: F401
    import IPython.core.completerlib  # noqa: F401 - these and the next two: what a kernel's
    import IPython.core.debugger  # noqa: F401       start imports after the fork (~40 ms each)
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import matplotlib.pyplot  # noqa: F401 - also builds the font list once
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy  # noqa: F401
    import torch

    # autograd's and the optimizers' first use (the first step imports torch._dynamo, ~1.5 s):
    # paid here once, not in every kernel that trains. One thread, so nothing to break at fork.
    x = torch.ones(3, requires_grad=True)
    (x * x).sum().backward()
    torch.optim.AdamW([x], lr=1e-3).step()


def serve(rfd: int, wfd: int) -> None:
    inp, out = os.fdopen(rfd, "r"), os.fdopen(wfd, "w", buffering=1)
    children: dict[int, int | None] = {}

    def reap(pid):
        if children.get(pid) is None:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                children[pid] = os.waitstatus_to_exitcode(status)
        return children.get(pid)

    for line in inp:
        req = json.loads(line)
        op, reply = req.get("op"), {}
        if op in ("spawn", "probe"):
            pid = os.fork()
            if pid == 0:
                kernel({**req, "probe": op == "probe"}, (rfd, wfd))
            children[pid] = None
            reply = {"pid": pid}
            if op == "probe":
                _, status = os.waitpid(pid, 0)
                reply = {"ok": os.waitstatus_to_exitcode(status) == 0}
        elif op == "poll":
            reply = {"code": reap(int(req["pid"]))}
        elif op == "signal":
            if reap(int(req["pid"])) is None:
                try:
                    os.kill(int(req["pid"]), int(req["signal"]))
                except ProcessLookupError:
                    pass
        out.write(json.dumps(reply) + "\n")


def main() -> None:
    # the control pipe is this process's stdin/stdout: moved aside, so that no kernel inherits it
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    preload()
    _prctl("dumpable", PR_SET_DUMPABLE, 0)   # kernels cannot ptrace or read this process
    os.write(wfd, b'{"ready": true}\n')
    serve(rfd, wfd)


if __name__ == "__main__":
    main()
