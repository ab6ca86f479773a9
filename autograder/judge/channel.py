"""The judge's end of the grading channel: a proxy of the learner's notebook.

Hidden tests call ``learner.some_function(...)``; each call becomes one request to the
notebook's agent (``dlcourse.agent``) and one reply, decoded by ``dlcourse.wire`` (plain data
only) and rebuilt as plain tensors here. While the learner's code runs, it may call back
into the judge: the reference of an item it builds on (``learner.patched(...)``) and its
backward pass. Everything the learner sends is checked, never trusted, never executed.
"""
from __future__ import annotations

import contextlib
import time

import torch
import torch.nn as nn

from dlcourse import wire


class LearnerError(AssertionError):
    """The learner's code raised; hidden tests may expect it (``learner.raises``)."""

    def __init__(self, name: str, message: str):
        super().__init__(f"your code raised {name}: {message}")
        self.name, self.message = name, message


class ChannelBroken(AssertionError):
    """No usable reply (too slow, too big, malformed, connection gone): the item scores 0."""


class Channel:
    def __init__(self, sock, call_timeout: float = 60.0, limits: wire.Limits = wire.DEFAULT):
        self.sock, self.call_timeout, self.limits = sock, call_timeout, limits
        self.callbacks: dict = {}           # name -> reference function or nn.Module class
        self.modules: dict[int, nn.Module] = {}
        self.tickets: dict[int, tuple] = {}
        self.broken: str | None = None
        self.calls = 0
        self.meter = None                   # meter.CgroupMeter / ProcMeter, set by the host
        self.sources: dict[str, str] = {}   # item -> submitted solution cell text, set by the host

    # ------------------------------------------------------------ transport
    def _send(self, msg) -> None:
        try:
            wire.send(self.sock, wire.encode(msg))
        except OSError as e:
            self._break(f"the notebook stopped answering ({type(e).__name__})")

    def _recv(self, deadline: float):
        try:
            return wire.decode(wire.recv(self.sock, self.limits.frame, deadline), self.limits)
        except TimeoutError:
            self._break(f"your code did not answer within {self.call_timeout:g} s")
        except wire.WireError as e:
            self._break(f"the reply from your code is not plain data within the limits: {e}")
        except (ConnectionError, OSError):
            self._break("the notebook closed the connection (did the kernel crash or exit?)")

    def _break(self, why: str):
        self.broken = why
        with contextlib.suppress(OSError):
            self.sock.close()
        raise ChannelBroken(why)

    def hello(self, timeout: float = 10.0) -> dict:
        msg = self._recv(time.monotonic() + timeout)
        if not isinstance(msg, dict) or "hello" not in msg:
            self._break("the notebook did not start the hidden tests properly")
        return msg

    def done(self) -> None:
        if self.broken is None:
            with contextlib.suppress(ChannelBroken):
                self._send({"op": "done"})

    def ask(self, msg: dict):
        """One request; serves the learner's call-backs until the reply comes."""
        if self.broken:
            raise ChannelBroken(self.broken)
        self.calls += 1
        self._send(msg)
        deadline = time.monotonic() + self.call_timeout
        while True:
            reply = self._recv(deadline)
            if not isinstance(reply, dict):
                self._break("the reply from your code is malformed")
            if "result" in reply:
                return reply["result"]
            if "error" in reply:
                raise LearnerError(str(reply.get("error"))[:100], str(reply.get("message"))[:2000])
            self._serve(reply)

    # ------------------------------------------------------------ call-backs
    def _serve(self, req: dict) -> None:
        op = req.get("op") if isinstance(req, dict) else None
        try:
            if op == "callback":
                out = self._callback(req)
            elif op == "module_new":
                out = self._module_new(req)
            elif op == "module_forward":
                out = self._module_forward(req)
            elif op == "vjp":
                out = self._vjp(req)
            else:
                self._break("the notebook sent a request the grader does not know")
        except ChannelBroken:
            raise
        except Exception as e:  # noqa: BLE001 - bad arguments from the learner's code
            self._send({"failed": f"{type(e).__name__}: {str(e)[:500]}"})
            return
        self._send({"result": out})

    def _fn(self, name, kind):
        ref = self.callbacks.get(name)
        is_module = isinstance(ref, type) and issubclass(ref, nn.Module)
        if ref is None or is_module != (kind == "module"):
            raise KeyError(f"{name} is not served now")
        return ref

    def _run(self, fn, args, kwargs, grad_mask, extra=()):
        """Call ``fn`` on the learner's arguments; keep the graph when gradients are wanted."""
        leaves = _tensors((args, kwargs)) + list(extra)
        if len(grad_mask) != len(leaves):
            raise ValueError("gradient mask does not match the inputs")
        wanted = [t for t, g in zip(leaves, grad_mask) if g and t.is_floating_point()]
        for t in wanted:
            t.requires_grad_(True)
        with torch.set_grad_enabled(bool(wanted)):
            out = fn(*args, **kwargs)
        ticket = None
        if wanted:
            ticket = len(self.tickets) + 1
            self.tickets[ticket] = (leaves, grad_mask, out)
        return {"out": _detach(out), "ticket": ticket}

    def _callback(self, req):
        return self._run(self._fn(req["name"], "fn"), list(req["args"]), dict(req["kwargs"]), req["grad"])

    def _module_new(self, req):
        m = self._fn(req["name"], "module")(*req["args"], **req["kwargs"])
        self.modules[len(self.modules) + 1] = m
        return {"id": len(self.modules), "params": {n: p.detach() for n, p in m.named_parameters()},
                "buffers": {n: b for n, b in m.named_buffers()}}

    def _module_forward(self, req):
        m = self.modules[int(req["id"])]
        names, params = list(req["names"]), list(req["params"])
        own = dict(m.named_parameters())
        if sorted(names) != sorted(own) or len(params) != len(names):
            raise ValueError("the parameters of the stand-in module were changed")
        if params:
            m.to(params[0].dtype)
        m.train(bool(req["training"]))
        # the learner's current parameter values, as leaves the backward pass can reach
        leaves = [p.detach().clone().to(own[n].dtype) for n, p in zip(names, params)]
        for n, value in zip(names, leaves):
            if tuple(value.shape) != tuple(own[n].shape):
                raise ValueError(f"parameter {n} has the wrong shape")
        func = torch.func.functional_call
        return self._run(lambda *a, **k: func(m, dict(zip(names, leaves)), a, k),
                         list(req["args"]), dict(req["kwargs"]), req["grad"], extra=leaves)

    def _vjp(self, req):
        leaves, mask, out = self.tickets[int(req["ticket"])]
        outs = [o for o in _tensors(out)]
        grads = list(req["grads"])
        pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(g, torch.Tensor) and o.requires_grad]
        wanted = [t for t, m in zip(leaves, mask) if m and t.requires_grad]
        got = torch.autograd.grad([o for o, _ in pairs], wanted, [g.to(o.dtype) for o, g in pairs],
                                  allow_unused=True, retain_graph=True) if pairs and wanted else [None] * len(wanted)
        it = iter(got)
        return [next(it) if (m and t.requires_grad) else None for t, m in zip(leaves, mask)]


def _tensors(x) -> list:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _tensors(v)]
    return []


def _detach(x):
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, (list, tuple)):
        return type(x)(_detach(v) for v in x)
    if isinstance(x, dict):
        return {k: _detach(v) for k, v in x.items()}
    return x
