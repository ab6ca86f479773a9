"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/variants.py."""
from autograder.authoring.variants import mutant, variant

BYTES, CKPT, BEST = "saved_tensor_bytes", "checkpointed_forward", "best_segments"

CALL = "x = checkpoint(segment, x, use_reentrant=False)"
COST = "return k * boundary_bytes + math.ceil(n / k) * block_bytes"
ARGMIN = "return min(range(1, n + 1), key=cost)"

MUTANTS = [
    # --- saved_tensor_bytes ---
    mutant(BYTES, "numel_only", "counts elements, not bytes (forgets the element size)",
           edits=[("seen[k] = t.untyped_storage().nbytes()", "seen[k] = t.numel()")]),
    mutant(BYTES, "view_bytes", "counts the saved view's own bytes, not the storage it keeps alive",
           edits=[("seen[k] = t.untyped_storage().nbytes()", "seen[k] = t.numel() * t.element_size()")]),
    mutant(BYTES, "by_object_id", "deduplicates by Python object, so a storage saved twice counts twice",
           edits=[("k = key(t)\n        if k not in skip:", "k = id(t)\n        if key(t) not in skip:")]),
    mutant(BYTES, "by_view_pointer", "keys by t.data_ptr(): two views of one storage count twice",
           edits=[("return t.untyped_storage().data_ptr()", "return t.data_ptr()")]),
    mutant(BYTES, "counts_parameters_and_inputs", "skips nothing: weights and inputs are counted",
           edits=[("skip = {key(t) for t in (*inputs, *params) if torch.is_tensor(t)}", "skip = set()")]),
    mutant(BYTES, "counts_inputs", "skips the parameters but not the inputs",
           edits=[("for t in (*inputs, *params)", "for t in params")]),
    mutant(BYTES, "only_requires_grad", "counts only saved tensors that require grad (misses dropout masks)",
           edits=[("if k not in skip:", "if k not in skip and t.requires_grad:")]),
    mutant(BYTES, "pack_returns_none", "the pack hook forgets to return the tensor: backward breaks",
           edits=[("            seen[k] = t.untyped_storage().nbytes()\n        return t",
                   "            seen[k] = t.untyped_storage().nbytes()")]),
    mutant(BYTES, "sums_every_save", "adds up every saved tensor, shared storages included",
           edits=[("seen = {}", "seen = []"),
                  ("seen[k] = t.untyped_storage().nbytes()", "seen.append(t.untyped_storage().nbytes())"),
                  ("sum(seen.values())", "sum(seen)")]),
    # --- checkpointed_forward ---
    mutant(CKPT, "no_checkpoint", "runs every segment normally: nothing is checkpointed",
           edits=[(CALL, "x = segment(x)")]),
    mutant(CKPT, "checkpoints_last", "checkpoints the last segment too (recomputed for nothing)",
           edits=[("        if i < segments - 1:\n            " + CALL + "\n        else:\n            x = segment(x)\n",
                   "        " + CALL + "\n")]),
    mutant(CKPT, "reentrant_default", "omits use_reentrant: PyTorch warns and uses the reentrant variant",
           edits=[(CALL, "x = checkpoint(segment, x)")]),
    mutant(CKPT, "reentrant_true", "use_reentrant=True: no parameter gradients when the input needs none",
           edits=[(CALL, "x = checkpoint(segment, x, use_reentrant=True)")]),
    mutant(CKPT, "remainder_last", "puts the leftover blocks in the last segment (checkpoint_sequential's rule)",
           edits=[("end = start + size + (1 if i < extra else 0)", "end = start + size if i < segments - 1 else n")]),
    mutant(CKPT, "drops_remainder", "segments of n // segments blocks: the leftover blocks never run",
           edits=[("end = start + size + (1 if i < extra else 0)", "end = start + size")]),
    mutant(CKPT, "inclusive_end", "off by one: segment end treated as inclusive, boundary blocks run twice",
           edits=[("nn.Sequential(*blocks[start:end])", "nn.Sequential(*blocks[start:end + 1])")]),
    mutant(CKPT, "larger_segments_last", "segment boundaries at i * n // segments (the longer segments come last)",
           edits=[("end = start + size + (1 if i < extra else 0)", "end = (i + 1) * n // segments")]),
    mutant(CKPT, "late_binding_lambda", "a lambda reads start/end when the backward pass recomputes, after the loop",
           edits=[(CALL, "x = checkpoint(lambda h: nn.Sequential(*blocks[start:end])(h), x, use_reentrant=False)")]),
    mutant(CKPT, "no_rng_state", "preserve_rng_state=False: dropout masks differ in the recomputation",
           edits=[(CALL, "x = checkpoint(segment, x, use_reentrant=False, preserve_rng_state=False)")]),
    mutant(CKPT, "detached_boundaries", "detaches the boundaries, cutting the graph between segments",
           edits=[(CALL, "x = checkpoint(segment, x, use_reentrant=False).detach().requires_grad_()")]),
    mutant(CKPT, "no_validation", "accepts segments > n (empty segments)",
           edits=[("if not 1 <= segments <= n:", "if segments < 1:")]),
    # --- best_segments ---
    mutant(BEST, "floor_not_ceil", "n // k instead of ceil(n / k)",
           edits=[("math.ceil(n / k)", "(n // k)")]),
    mutant(BEST, "round_sqrt", "returns round(sqrt(n)), ignoring the byte sizes",
           edits=[(ARGMIN, "return max(1, round(math.sqrt(n)))")]),
    mutant(BEST, "continuous_optimum", "rounds the continuous optimum sqrt(n a / b) (ignores the ceiling)",
           edits=[(ARGMIN, "return min(n, max(1, round(math.sqrt(n * block_bytes / boundary_bytes))))")]),
    mutant(BEST, "weights_swapped", "multiplies k by block_bytes and n/k by boundary_bytes",
           edits=[(COST, "return k * block_bytes + math.ceil(n / k) * boundary_bytes")]),
    mutant(BEST, "ties_to_largest", "breaks ties towards the largest k",
           edits=[(ARGMIN, "return min(range(n, 0, -1), key=cost)")]),
    mutant(BEST, "excludes_n", "searches k in 1..n-1 (range end excluded)",
           edits=[(ARGMIN, "return min(range(1, n), key=cost, default=1)")]),
    mutant(BEST, "returns_cost", "returns the minimal memory instead of the number of segments",
           edits=[(ARGMIN, "return min(cost(k) for k in range(1, n + 1))")]),
]

VARIANTS = [
    variant(BYTES, "set_and_sum", "a set of storage pointers and a running total; size() of the untyped storage",
            code='''def saved_tensor_bytes(fn, *inputs, params=()):
    free = set()
    for t in list(inputs) + list(params):
        if isinstance(t, torch.Tensor):
            free.add(t.untyped_storage().data_ptr())
    counted = set()
    total = 0

    def pack_hook(tensor):
        nonlocal total
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in free and ptr not in counted:
            counted.add(ptr)
            total += storage.size()
        return tensor

    def unpack_hook(tensor):
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
        out = fn(*inputs)
    return out, int(total)
'''),
    variant(BYTES, "collect_then_count", "keeps the storages, deduplicates afterwards",
            code='''def saved_tensor_bytes(fn, *inputs, params=()):
    storages = []

    def pack(t):
        storages.append(t.untyped_storage())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*inputs)
    skip = {p.untyped_storage().data_ptr() for p in [*inputs, *params] if torch.is_tensor(p)}
    unique = {s.data_ptr(): s.nbytes() for s in storages if s.data_ptr() not in skip}
    return out, sum(unique.values())
'''),
    variant(BYTES, "params_materialised", "materialises params first, checks membership inside the hook",
            edits=[("skip = {key(t) for t in (*inputs, *params) if torch.is_tensor(t)}",
                    "params = list(params)\n"
                    "    skip = set(map(key, filter(torch.is_tensor, inputs))) | set(map(key, params))"),
                   ("if k not in skip:", "if k not in skip and k not in seen:")]),
    variant(CKPT, "tensor_split_bounds", "segment boundaries from torch.tensor_split, a helper with functools.partial",
            code='''def checkpointed_forward(blocks, x, segments):
    import functools
    blocks = list(blocks)
    if segments < 1 or segments > len(blocks):
        raise ValueError("segments out of range")

    def run(chunk, h):
        for b in chunk:
            h = b(h)
        return h

    chunks = [[blocks[i] for i in idx.tolist()] for idx in torch.arange(len(blocks)).tensor_split(segments)]
    for chunk in chunks[:-1]:
        x = checkpoint(functools.partial(run, chunk), x, use_reentrant=False, preserve_rng_state=True)
    return run(chunks[-1], x)
'''),
    variant(CKPT, "default_arg_binding", "an inner function with the segment bound as a default argument",
            code='''def checkpointed_forward(blocks, x, segments):
    blocks = list(blocks)
    n = len(blocks)
    if not (1 <= segments <= n):
        raise ValueError(f"need 1 <= segments <= {n}")
    q, r = divmod(n, segments)
    bounds = [0]
    for i in range(segments):
        bounds.append(bounds[-1] + q + (i < r))
    for i in range(segments):
        def seg(h, part=blocks[bounds[i]:bounds[i + 1]]):
            for b in part:
                h = b(h)
            return h
        x = seg(x) if i == segments - 1 else checkpoint(seg, x, use_reentrant=False)
    return x
'''),
    variant(CKPT, "last_segment_first", "splits off the last segment first, then loops over the others",
            code='''def checkpointed_forward(blocks, x, segments):
    blocks = list(blocks)
    n = len(blocks)
    if segments <= 0 or segments > n:
        raise ValueError("segments must be in 1..len(blocks)")
    sizes = [n // segments + 1] * (n % segments) + [n // segments] * (segments - n % segments)
    start = 0
    for s in sizes[:-1]:
        x = checkpoint(nn.Sequential(*blocks[start:start + s]), x, use_reentrant=False)
        start += s
    for b in blocks[start:]:
        x = b(x)
    return x
'''),
    variant(BEST, "explicit_loop", "a loop keeping the first strict minimum",
            edits=[(ARGMIN, "best_k, best = 1, cost(1)\n"
                            "    for k in range(2, n + 1):\n"
                            "        if cost(k) < best:\n"
                            "            best_k, best = k, cost(k)\n"
                            "    return best_k")]),
    variant(BEST, "integer_ceil", "ceil by integer arithmetic, sorted by (cost, k)",
            edits=[(COST, "return k * boundary_bytes + (-(-n // k)) * block_bytes"),
                   (ARGMIN, "return sorted(range(1, n + 1), key=lambda k: (cost(k), k))[0]")]),
    variant(BEST, "numpy_argmin", "vectorised with numpy.argmin (first minimum)",
            code='''def best_segments(n, block_bytes=1, boundary_bytes=1):
    import numpy as np
    k = np.arange(1, n + 1)
    cost = k * boundary_bytes + np.ceil(n / k) * block_bytes
    return int(np.argmin(cost)) + 1
'''),
]
