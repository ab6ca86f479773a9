"""What a hidden test holds: ``learner``, a proxy of the notebook's names.

    out, w = learner.scaled_dot_product_attention(q, k, v, mask)      # plain tensors back
    mha = learner.MultiHeadAttention(16, 4)                           # a handle to the object
    mha.load_state_dict(ref_layer.state_dict())                       # method calls by name
    with learner.patched(scaled_dot_product_attention=ref.scaled_dot_product_attention):
        out, w = mha(x, x, x, causal=True)                            # the reference stands in
    out, grads, param_grads = mha.grad(x, x, x, upstream=(g_out, g_w))
    with learner.raises(ValueError): learner.f(bad_input)

``LearnerError`` (the learner's code raised; ``.name``, ``.message``) can be caught to
reword a failure.
"""
from __future__ import annotations

import contextlib

import torch.nn as nn

from dlcourse import wire

from autograder.judge.channel import Channel, LearnerError

__all__ = ["Learner", "Remote", "LearnerError", "Measurement"]
from autograder.judge.meter import Unmeasurable


class Measurement:
    peak: int = 0


class Remote:
    """A name, object or method in the learner's process."""

    def __init__(self, ch: Channel, learner: "Learner", target: tuple, path: tuple = (), type_name: str = ""):
        self._ch, self._learner, self._target, self._path, self._type = ch, learner, target, path, type_name

    def __repr__(self):
        return f"<learner's {'.'.join((str(self._target[1]),) + self._path)}>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Remote(self._ch, self._learner, self._target, self._path + (name,))

    def _msg(self, op, **kw):
        for key in ("args", "kwargs"):
            if key in kw:
                kw[key] = _as_data(kw[key])
        return {"op": op, "target": list(self._target), "path": list(self._path), **kw}

    def _as_ref(self):
        """This proxy as an argument: the learner's side looks the object up again."""
        if self._path:
            raise AssertionError("pass an object, not one of its attributes (read it with .get())")
        kind, key = self._target
        return wire.Handle(key, self._type) if kind == "handle" else wire.Ref(kind, key)

    def __call__(self, *args, **kwargs):
        return self._learner._wrap(self._ch.ask(self._msg("call", args=list(args), kwargs=kwargs,
                                                          patch=self._learner._patch)))

    def nograd(self, *args, **kwargs):
        """The call under ``torch.no_grad()`` in the learner's process."""
        return self._learner._wrap(self._ch.ask(self._msg("call", args=list(args), kwargs=kwargs,
                                                          patch=self._learner._patch, no_grad=True)))

    def grad(self, *args, upstream, **kwargs):
        """Call with gradients: every floating-point tensor argument requires grad, the
        outputs are back-propagated with ``upstream`` (same structure as the output).
        Returns (output, gradients of the tensor arguments in order, {parameter: gradient})."""
        res = self._ch.ask(self._msg("call", args=list(args), kwargs=kwargs, patch=self._learner._patch,
                                     upstream=upstream))
        if not isinstance(res, dict) or set(res) != {"out", "grads", "params"}:
            raise AssertionError("the reply with gradients is malformed")
        return self._learner._wrap(res["out"]), res["grads"], res["params"]

    def get(self):
        """The value of this attribute as data (a tensor, a number, a list...)."""
        return self._learner._wrap(self._ch.ask(self._msg("getattr")))

    def params(self) -> dict:
        """{"params": {name: tensor}, "grads": {name: tensor or None}, "buffers": {...}}."""
        res = self._ch.ask(self._msg("params"))
        if not isinstance(res, dict) or set(res) != {"params", "grads", "buffers"}:
            raise AssertionError("could not read the module's parameters")
        return res


def _as_data(x):
    if isinstance(x, Remote):
        return x._as_ref()
    if isinstance(x, list):
        return [_as_data(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_as_data(v) for v in x)
    if isinstance(x, dict):
        return {k: _as_data(v) for k, v in x.items()}
    return x


class Learner:
    def __init__(self, ch: Channel):
        self._ch = ch
        self._patch: dict = {}

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return Remote(self._ch, self, ("name", name))

    def source(self, item: str) -> str:
        """The text of the learner's solution cell of ``item``, as submitted (read by the
        grader from the notebook file, not asked of the notebook's process); see structure.py."""
        return self._ch.sources.get(item, "")

    def fixture(self, name: str) -> Remote:
        """An object of the exercise's ``fixtures.py``, which runs in the learner's process."""
        return Remote(self._ch, self, ("fixture", name))

    def _wrap(self, x):
        if isinstance(x, wire.Handle):
            return Remote(self._ch, self, ("handle", x.id), type_name=x.type)
        if isinstance(x, list):
            return [self._wrap(v) for v in x]
        if isinstance(x, tuple):
            return tuple(self._wrap(v) for v in x)
        if isinstance(x, dict):
            return {k: self._wrap(v) for k, v in x.items()}
        if isinstance(x, wire.Ref):
            raise AssertionError("your code returned a reference the grader cannot read")
        return x

    @contextlib.contextmanager
    def patched(self, **refs):
        """While inside, calls rebind these names of the notebook to stand-ins that call
        the given reference functions or nn.Module classes in the judge (items stay
        independent: a bug in one item does not cost the points of the items using it)."""
        saved = dict(self._patch), dict(self._ch.callbacks)
        for name, ref in refs.items():
            kind = "module" if isinstance(ref, type) and issubclass(ref, nn.Module) else "callback"
            self._patch[name] = wire.Ref(kind, name)
            self._ch.callbacks[name] = ref
        try:
            yield
        finally:
            self._patch, self._ch.callbacks = saved

    @contextlib.contextmanager
    def raises(self, *names: type | str):
        """The learner's code must raise one of these exception types (by name)."""
        want = {n if isinstance(n, str) else n.__name__ for n in names}
        try:
            yield
        except LearnerError as e:
            if e.name not in want:
                raise AssertionError(f"expected {' or '.join(sorted(want))}, but your code raised {e.name}: "
                                     f"{e.message[:200]}") from None
            return
        raise AssertionError(f"expected your code to raise {' or '.join(sorted(want))}")

    @contextlib.contextmanager
    def memory(self):
        """Peak memory the learner's process used above its level at the start, measured
        from outside the process (``meter.py``)::

            with learner.memory() as m:
                learner.f(big_input)
            assert m.peak < budget
        """
        meter = self._ch.meter
        if meter is None:
            raise Unmeasurable("memory cannot be measured on this machine (no cgroup, no /proc)")
        m = Measurement()
        meter.reset()
        yield m
        m.peak = meter.peak()

    def load_fixtures(self, source: str) -> None:
        self._ch.ask({"op": "fixtures", "source": source})
