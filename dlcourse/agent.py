"""The notebook's end of the grading channel.

A graded cell of an exercise notebook runs ``serve("test_<item>")``. Outside grading it
only says so. While a notebook is graded, ``DLCOURSE_JUDGE`` names a socket of the judge,
a process outside the notebook's sandbox that holds the hidden tests and the reference:
this module connects, then does what the judge asks (call a function or class of the
notebook by name, read a module's parameters, run a backward pass) and sends back plain
data (see ``dlcourse.wire``). Nothing here decides a grade: the judge compares what it
receives with the reference in its own process. When the judge grades an item that uses
another one (multi-head attention calls attention), it asks for names of the notebook to
be rebound for the duration of a call to stand-ins that call the judge back.
"""
from __future__ import annotations

import os
import socket
import sys

import torch

from . import wire


def serve(test_id: str, namespace: dict | None = None) -> None:
    path = os.environ.get("DLCOURSE_JUDGE")
    if not path:
        print("Hidden tests: they run when your notebook is graded (the grader calls your code).")
        return
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    try:
        Agent(sock, ns).run(test_id)
    finally:
        sock.close()


class Agent:
    def __init__(self, sock, ns: dict):
        self.sock, self.ns = sock, ns
        self.objects: dict[int, object] = {}
        self.fixtures: dict = {"__name__": "fixtures"}
        self.templates: list = []   # output structures of calls the judge computed (autograd)

    # ---------------------------------------------------------------- plumbing
    def send(self, msg) -> None:
        wire.send(self.sock, wire.encode(msg, handle_of=self.handle))

    def receive(self):
        return self.resolve(wire.decode(wire.recv(self.sock)))

    def handle(self, obj) -> wire.Handle:
        for hid, o in self.objects.items():
            if o is obj:
                return wire.Handle(hid, type(obj).__name__)
        hid = len(self.objects) + 1
        self.objects[hid] = obj
        return wire.Handle(hid, type(obj).__name__)

    def resolve(self, x):
        if isinstance(x, wire.Handle):
            return self.objects[x.id]
        if isinstance(x, wire.Ref):
            if x.kind == "fixture":
                return self.fixtures[x.name]
            if x.kind == "name":
                return self.ns[x.name]
            if x.kind == "callback":
                return _callback(self, x.name)
            if x.kind == "module":
                return _remote_module(self, x.name)
            raise KeyError(x.kind)
        if isinstance(x, list):
            return [self.resolve(v) for v in x]
        if isinstance(x, tuple):
            return tuple(self.resolve(v) for v in x)
        if isinstance(x, dict):
            return {k: self.resolve(v) for k, v in x.items()}
        return x

    def request(self, msg):
        """Ask the judge (a call back from inside the learner's code); answer its nested asks."""
        self.send(msg)
        while True:
            reply = self.receive()
            if "result" in reply:
                return reply["result"]
            if "failed" in reply:
                raise RuntimeError(f"the grader's reference failed: {reply['failed']}")
            self.answer(reply)

    # ---------------------------------------------------------------- the loop
    def run(self, test_id: str) -> None:
        self.send({"hello": test_id, "tag": os.environ.get("DLCOURSE_JUDGE_TAG", ""), "pid": os.getpid()})
        while True:
            try:
                msg = self.receive()
            except (ConnectionError, OSError, wire.WireError):
                return
            if msg.get("op") == "done":
                return
            self.answer(msg)

    def answer(self, msg: dict) -> None:
        try:
            reply = wire.encode({"result": getattr(self, "op_" + msg["op"])(msg)}, handle_of=self.handle)
        except Exception as e:  # noqa: BLE001 - the learner's code may raise anything
            reply = wire.encode({"error": type(e).__name__, "message": str(e)[:2000]})
        wire.send(self.sock, reply)

    def target(self, msg):
        kind, name = msg["target"]
        obj = {"handle": self.objects, "fixture": self.fixtures, "name": self.ns}[kind][name]
        for attr in msg.get("path", []):
            obj = getattr(obj, attr)
        return obj

    def op_fixtures(self, msg):
        exec(compile(msg["source"], "<fixtures>", "exec"), self.fixtures)

    def op_getattr(self, msg):
        return self.target(msg)

    def op_params(self, msg):
        m = self.target(msg)
        return {"params": {n: p for n, p in m.named_parameters()},
                "grads": {n: p.grad for n, p in m.named_parameters()},
                "buffers": {n: b for n, b in m.named_buffers()}}

    def op_call(self, msg):
        fn = self.target(msg)
        args, kwargs = msg.get("args", []), msg.get("kwargs", {})
        saved = {}
        for name, stand_in in msg.get("patch", {}).items():
            saved[name] = self.ns.get(name, _MISSING)
            self.ns[name] = stand_in
        try:
            if msg.get("upstream") is None:
                with torch.no_grad() if msg.get("no_grad") else _nullcontext():
                    return fn(*args, **kwargs)
            return self.call_with_grad(fn, args, kwargs, msg["upstream"])
        finally:
            for name, old in saved.items():
                if old is _MISSING:
                    self.ns.pop(name, None)
                else:
                    self.ns[name] = old

    def call_with_grad(self, fn, args, kwargs, upstream):
        leaves = []

        def mark(x):
            if isinstance(x, torch.Tensor) and x.is_floating_point():
                x = x.detach().requires_grad_(True)
                leaves.append(x)
                return x
            if isinstance(x, (list, tuple)):
                return type(x)(mark(v) for v in x)
            if isinstance(x, dict):
                return {k: mark(v) for k, v in x.items()}
            return x

        args, kwargs = mark(list(args)), mark(dict(kwargs))
        params = dict(fn.named_parameters()) if isinstance(fn, torch.nn.Module) else {}
        for p in params.values():
            p.grad = None
        with torch.enable_grad():
            out = fn(*args, **kwargs)
            outs = [o for o in _flat(out) if isinstance(o, torch.Tensor)]
            ups = [u for u in _flat(upstream) if isinstance(u, torch.Tensor)]
            pairs = [(o, u) for o, u in zip(outs, ups) if o.requires_grad]
            if pairs:
                torch.autograd.backward([o for o, _ in pairs], [u.to(o.dtype) for o, u in pairs])
        return {"out": out, "grads": [x.grad for x in leaves],
                "params": {n: p.grad for n, p in params.items()}}


class _Missing:
    pass


_MISSING = _Missing()


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


def _flat(x):
    if isinstance(x, (list, tuple)):
        for v in x:
            yield from _flat(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _flat(v)
    else:
        yield x


# -------------------------------------------------------------------- stand-ins

class _Remote(torch.autograd.Function):
    """A call the judge computes; the backward pass asks the judge for the input gradients."""

    @staticmethod
    def forward(ctx, agent, msg, *tensors):
        res = agent.request({**msg, "grad": [t.requires_grad for t in tensors]})
        ctx.agent, ctx.ticket = agent, res["ticket"]
        agent.templates.append(res["out"])
        outs = tuple(_tensors_in(res["out"]))
        ctx.mark_non_differentiable(*[o for o in outs if not o.is_floating_point()])
        return outs

    @staticmethod
    def backward(ctx, *grads):
        res = ctx.agent.request({"op": "vjp", "ticket": ctx.ticket, "grads": list(grads)})
        return (None, None, *res)


def _ask(agent, msg, tensors):
    """Send a call to the judge; with autograd when one of ``tensors`` needs a gradient."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        outs = _Remote.apply(agent, msg, *tensors)
        return _fill(agent.templates.pop(), iter(outs))
    return agent.request({**msg, "grad": [False] * len(tensors)})["out"]


def _fill(x, it):
    if isinstance(x, torch.Tensor):
        return next(it)
    if isinstance(x, (list, tuple)):
        return type(x)(_fill(v, it) for v in x)
    if isinstance(x, dict):
        return {k: _fill(v, it) for k, v in x.items()}
    return x


def _tensors_in(x):
    return [t for t in _flat(x) if isinstance(t, torch.Tensor)]


def _callback(agent, name):
    def stand_in(*args, **kwargs):
        msg = {"op": "callback", "name": name, "args": list(args), "kwargs": kwargs}
        return _ask(agent, msg, _tensors_in((args, kwargs)))

    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def _remote_module(agent, name):
    class StandIn(torch.nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()
            res = agent.request({"op": "module_new", "name": name, "args": list(args), "kwargs": kwargs})
            self._remote_id = res["id"]
            for pname, value in res["params"].items():
                owner, leaf = _owner(self, pname)
                owner.register_parameter(leaf, torch.nn.Parameter(value))
            for bname, value in res["buffers"].items():
                owner, leaf = _owner(self, bname)
                owner.register_buffer(leaf, value)

        def forward(self, *args, **kwargs):
            named = list(self.named_parameters())
            msg = {"op": "module_forward", "id": self._remote_id, "training": self.training,
                   "args": list(args), "kwargs": kwargs, "names": [n for n, _ in named],
                   "params": [p for _, p in named], "buffers": dict(self.named_buffers())}
            return _ask(agent, msg, _tensors_in((args, kwargs)) + [p for _, p in named])

    StandIn.__name__ = StandIn.__qualname__ = name
    return StandIn


def _owner(module, dotted):
    *path, leaf = dotted.split(".")
    for part in path:
        if part not in module._modules:
            module.add_module(part, torch.nn.Module())
        module = module._modules[part]
    return module, leaf
