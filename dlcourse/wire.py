"""Plain data across the grading boundary, as bytes that decode without running code.

The grader's judge and a learner's notebook exchange messages over a socket. Everything the
judge receives was written by learner-controlled code, so decoding is JSON parsing plus
checks: no pickle, no ``torch.load``, no object construction beyond plain tensors built here.

Frame (after an 8-byte little-endian length on the socket)::

    b"DLCW" | u32 header length | header: UTF-8 JSON | tensor bytes, back to back

The header is ``{"tree": T, "blobs": [[dtype, shape, nbytes], ...]}``. ``T`` is JSON
(null, bool, int, float including NaN/Infinity, str, list) or one of these one-key
objects: ``{"$tuple": [T...]}``, ``{"$dict": [[key, T], ...]}`` (str or int keys),
``{"$tensor": i}`` (blob i, little-endian, C order), ``{"$handle": id, "type": name}`` (an
object that stays in the learner's process), ``{"$ref": [kind, name]}`` (a name the other
side resolves). Decoding enforces size, depth and count limits and an allow-list of dtypes;
``bool`` tensors are rebuilt from bytes as ``!= 0`` so no invalid bool byte reaches torch.
"""
from __future__ import annotations

import json
import socket
import struct
import time

import torch

MAGIC = b"DLCW"
DTYPES = {
    "bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16,
    "int32": torch.int32, "int64": torch.int64, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "float32": torch.float32, "float64": torch.float64, "complex64": torch.complex64,
    "complex128": torch.complex128,
}
NAMES = {v: k for k, v in DTYPES.items()}
TAGS = ("$tuple", "$dict", "$tensor", "$handle", "$ref")


class WireError(ValueError):
    """A frame that breaks the format or a limit; the judge scores the item 0."""


class Limits:
    def __init__(self, frame=256 << 20, header=4 << 20, depth=48, nodes=200_000, ndim=8, text=1 << 20):
        self.frame, self.header, self.depth, self.nodes, self.ndim, self.text = frame, header, depth, nodes, ndim, text


DEFAULT = Limits()


class Handle:
    """An object that lives on the other side (a module instance, a fixture)."""

    def __init__(self, hid: int, type_name: str = ""):
        self.id, self.type = int(hid), str(type_name)

    def __repr__(self):
        return f"<{self.type or 'object'} #{self.id} in the learner's process>"


class Ref:
    """A name the receiver resolves (a callback, a fixture, a reference part)."""

    def __init__(self, kind: str, name: str):
        self.kind, self.name = kind, name


# ------------------------------------------------------------------ encode

def encode(obj, handle_of=None) -> bytes:
    """``handle_of(obj) -> Handle`` turns an object that is not plain data into a handle
    (the learner's side keeps it); without it such an object is an error."""
    blobs: list[bytes] = []
    specs: list = []

    def tree(x, depth=0):
        if depth > DEFAULT.depth:
            raise WireError("structure nested too deeply")
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return float(x)
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu()
            if t.dtype not in NAMES:
                raise WireError(f"tensor dtype {t.dtype} cannot cross the boundary")
            t = torch.Tensor._make_subclass(torch.Tensor, t) if type(t) is not torch.Tensor else t
            flat = t.reshape(-1)
            if flat.numel() and flat.stride(-1) != 1:   # a size-1 dimension may keep any stride
                flat = torch.empty(flat.shape, dtype=flat.dtype).copy_(flat)
            raw = flat.view(torch.uint8).numpy().tobytes() if t.numel() else b""
            specs.append([NAMES[t.dtype], list(t.shape), len(raw)])
            blobs.append(raw)
            return {"$tensor": len(blobs) - 1}
        if isinstance(x, Handle):
            return {"$handle": x.id, "type": x.type}
        if isinstance(x, Ref):
            return {"$ref": [x.kind, x.name]}
        if isinstance(x, torch.dtype):
            return {"$ref": ["dtype", NAMES[x]]}
        if isinstance(x, tuple):
            return {"$tuple": [tree(v, depth + 1) for v in x]}
        if isinstance(x, list):
            return [tree(v, depth + 1) for v in x]
        if isinstance(x, dict):
            return {"$dict": [[k if isinstance(k, (str, int)) else str(k), tree(v, depth + 1)] for k, v in x.items()]}
        if hasattr(x, "item") and hasattr(x, "dtype") and getattr(x, "shape", None) == ():  # numpy scalar
            return tree(x.item(), depth)
        if handle_of is not None:
            return tree(handle_of(x), depth)
        raise WireError(f"a {type(x).__name__} cannot cross the boundary (plain data only)")

    header = json.dumps({"tree": tree(obj), "blobs": specs}, allow_nan=True).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + b"".join(blobs)


# ------------------------------------------------------------------ decode

def decode(frame: bytes, limits: Limits = DEFAULT):
    if len(frame) > limits.frame:
        raise WireError(f"reply of {len(frame)} bytes is over the limit of {limits.frame}")
    if len(frame) < 8 or frame[:4] != MAGIC:
        raise WireError("not a frame of this protocol")
    (hlen,) = struct.unpack("<I", frame[4:8])
    if hlen > limits.header or 8 + hlen > len(frame):
        raise WireError("header too large or truncated")
    try:
        header = json.loads(frame[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise WireError(f"header is not valid JSON ({type(e).__name__})") from None
    if not isinstance(header, dict) or set(header) != {"tree", "blobs"} or not isinstance(header["blobs"], list):
        raise WireError("header has the wrong fields")
    tensors = _tensors(header["blobs"], memoryview(frame)[8 + hlen:], limits)
    count = [0]

    def build(x, depth):
        count[0] += 1
        if count[0] > limits.nodes:
            raise WireError("too many values")
        if depth > limits.depth:
            raise WireError("structure nested too deeply")
        if x is None or isinstance(x, (bool, float)):
            return x
        if isinstance(x, int):
            if abs(x) >= 1 << 63:
                raise WireError("integer out of range")
            return x
        if isinstance(x, str):
            if len(x) > limits.text:
                raise WireError("string too long")
            return x
        if isinstance(x, list):
            return [build(v, depth + 1) for v in x]
        if isinstance(x, dict) and len(x) in (1, 2) and next(iter(x)) in TAGS:
            tag = next(iter(x))
            v = x[tag]
            if tag == "$tuple" and isinstance(v, list) and len(x) == 1:
                return tuple(build(e, depth + 1) for e in v)
            if tag == "$dict" and isinstance(v, list) and len(x) == 1:
                out = {}
                for pair in v:
                    if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                            and not isinstance(pair[0], bool)):
                        raise WireError("malformed dict entry")
                    out[pair[0]] = build(pair[1], depth + 1)
                return out
            if tag == "$tensor" and type(v) is int and 0 <= v < len(tensors) and len(x) == 1:
                return tensors[v]
            if tag == "$handle" and type(v) is int and set(x) == {"$handle", "type"} and isinstance(x["type"], str):
                return Handle(v, x["type"][:100])
            if tag == "$ref" and isinstance(v, list) and len(v) == 2 and all(isinstance(s, str) for s in v):
                if v[0] == "dtype":
                    if v[1] not in DTYPES:
                        raise WireError("unknown dtype")
                    return DTYPES[v[1]]
                return Ref(v[0][:50], v[1][:200])
        raise WireError("value of an unknown kind")

    return build(header["tree"], 0)


def _tensors(specs: list, data: memoryview, limits: Limits) -> list:
    if len(specs) > limits.nodes:
        raise WireError("too many tensors")
    out, offset = [], 0
    for spec in specs:
        if not (isinstance(spec, list) and len(spec) == 3 and spec[0] in DTYPES and isinstance(spec[1], list)
                and type(spec[2]) is int):
            raise WireError("malformed tensor description")
        name, shape, nbytes = spec
        if len(shape) > limits.ndim or not all(type(s) is int and 0 <= s < 1 << 40 for s in shape):
            raise WireError("tensor shape out of bounds")
        dtype = DTYPES[name]
        numel = 1
        for s in shape:
            numel *= s
        size = torch.empty((), dtype=dtype).element_size()
        if numel * size != nbytes or offset + nbytes > len(data):
            raise WireError("tensor bytes do not match its shape and dtype")
        raw = bytearray(data[offset:offset + nbytes])   # a copy the judge owns
        offset += nbytes
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        elif dtype is torch.bool:
            t = torch.frombuffer(raw, dtype=torch.uint8).reshape(shape) != 0
        else:
            t = torch.frombuffer(raw, dtype=dtype).reshape(shape)
        out.append(t)
    if offset != len(data):
        raise WireError("trailing bytes after the tensors")
    return out


# ------------------------------------------------------------------ framing

def send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack("<Q", len(payload)) + payload)


def recv(sock: socket.socket, limit: int = DEFAULT.frame, deadline: float | None = None) -> bytes:
    """One frame; ``deadline`` (time.monotonic) bounds the whole read, so a reply that
    trickles in byte by byte still ends on time."""
    (n,) = struct.unpack("<Q", _exact(sock, 8, deadline))
    if n > limit:
        raise WireError(f"reply of {n} bytes is over the limit of {limit}")
    return _exact(sock, n, deadline)


def _exact(sock, n: int, deadline) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete reply before the time limit")
            sock.settimeout(left)
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("the notebook closed the connection")
        buf += chunk
    return bytes(buf)
