"""Hidden tests of the ViT exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process. The tests
of an item that uses earlier items run with the reference versions of those items
(``learner.patched``), so a bug in part 1 does not cost the points of part 4.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.judge.channel import LearnerError
from dlcourse.testing import check_close, check_tensor, generator


def _load(mine, state, what, kind="module", detail="the attribute names, layer types and shapes in the docstring"):
    try:
        mine.load_state_dict(state)
    except LearnerError as e:
        raise AssertionError(f"{what}: cannot copy the reference weights into your {kind} "
                             f"(check {detail}): {e.message[:300]}") from None


def _n_params(mine) -> int:
    return sum(t.numel() for t in mine.params()["params"].values())


def _random_value(name, shape, g):
    r = torch.randn(shape, generator=g, dtype=torch.float64)
    return (1 + 0.3 * r) if ("norm" in name and name.endswith("weight")) else 0.3 * r


def _randomise(module, seed):
    """Random weights for a module in the judge (LayerNorm gains around 1)."""
    g = generator(seed)
    with torch.no_grad():
        for name, t in module.named_parameters():
            t.copy_(_random_value(name, t.shape, g))


def _randomise_learner(mine, seed) -> dict:
    """The same randomisation for a module of the learner: its state dict is read, filled in
    the judge (in the order of its parameters) and loaded back. Returns the state."""
    names = list(mine.params()["params"])
    state = dict(mine.state_dict())
    g = generator(seed)
    for name in names:
        state[name] = _random_value(name, state[name].shape, g).to(state[name].dtype)
    mine.load_state_dict(state)
    return state


# --------------------------------------------------------------------------- patchify

def test_patchify(learner, ref, seed):
    n = 0
    for ci, (B, C, H, W, p) in enumerate([
        (2, 1, 8, 8, 2), (3, 3, 8, 8, 2), (1, 3, 12, 8, 4), (4, 2, 6, 9, 3), (2, 3, 8, 8, 1),
        (1, 1, 8, 8, 8), (5, 4, 16, 16, 4), (2, 3, 4, 12, 2), (1, 5, 10, 10, 5), (3, 1, 8, 8, 4),
    ]):
        for dtype in (torch.float32, torch.float64):
            g = generator(seed + 17 * ci + (1 if dtype == torch.float64 else 0))
            x = torch.randn(B, C, H, W, generator=g, dtype=torch.float64).to(dtype)
            what = f"images {tuple(x.shape)}, patch size {p}, {dtype}"
            out = learner.patchify(x, p)
            check_close(out, ref.patchify(x, p), what=f"patches ({what})", rtol=0, atol=0,
                        hint="Check the order of the patches (row-major over the grid) and inside a patch (channel, row, column).")
            check_close(out, F.unfold(x, kernel_size=p, stride=p).transpose(1, 2), rtol=0, atol=0,
                        what=f"patches vs torch.nn.functional.unfold ({what})")
            D = 7
            w = torch.randn(D, C, p, p, generator=g, dtype=torch.float64).to(dtype)
            b = torch.randn(D, generator=g, dtype=torch.float64).to(dtype)
            conv = F.conv2d(x, w, b, stride=p).flatten(2).transpose(1, 2)
            check_close(out @ w.flatten(1).T + b, conv,
                        what=f"patches @ conv_weight.flatten(1).T vs a strided Conv2d ({what})",
                        hint="Inside a patch the order must be (channel, row, column), like a Conv2d weight.")
            back = F.fold(out.transpose(1, 2), output_size=(H, W), kernel_size=p, stride=p)
            check_close(back, x, what=f"round trip through F.fold ({what})", rtol=0, atol=0)
            n += 1
    # differentiable: every pixel receives the gradient of exactly one patch entry
    x = torch.randn(2, 3, 8, 8, generator=generator(seed + 1), dtype=torch.float64)
    gout = torch.randn(2, 16, 12, generator=generator(seed + 2), dtype=torch.float64)
    _, (gx,), _ = learner.patchify.grad(x, 2, upstream=gout)
    assert gx is not None, "patchify must stay differentiable (use torch operations only)"
    check_close(gx, F.fold(gout.transpose(1, 2), (8, 8), kernel_size=2, stride=2), what="gradient of patchify")
    assert n >= 20


# --------------------------------------------------------------------------- PatchEmbedding

def test_PatchEmbedding(learner, ref, seed):
    with learner.patched(patchify=ref.patchify):
        n = 0
        for ci, (B, C, H, W, p, D) in enumerate([
            (2, 1, 8, 8, 2, 16), (3, 3, 8, 8, 2, 8), (1, 3, 12, 8, 4, 12), (4, 2, 6, 9, 3, 5),
            (2, 1, 8, 8, 1, 6), (1, 1, 8, 8, 8, 10), (2, 4, 16, 16, 4, 32), (1, 3, 8, 8, 2, 1),
        ]):
            for dtype in (torch.float32, torch.float64):
                torch.manual_seed(seed + ci)
                theirs = ref.PatchEmbedding(C, p, D).to(dtype)
                mine = learner.PatchEmbedding(C, p, D)
                mine.to(dtype)
                _load(mine, theirs.state_dict(), f"PatchEmbedding({C}, {p}, {D})")
                nparams = _n_params(mine)
                assert nparams == C * p * p * D + D, \
                    f"PatchEmbedding({C}, {p}, {D}) has {nparams} parameters; expected one weight per (output, channel, row, column) and one bias per output"
                g = generator(seed + 31 * ci)
                x = torch.randn(B, C, H, W, generator=g, dtype=torch.float64).to(dtype)
                what = f"images {tuple(x.shape)}, patch size {p}, dim {D}, {dtype}"
                out = mine(x)
                with torch.no_grad():
                    check_close(out, theirs(x), what=f"tokens ({what})",
                                hint="Tokens must follow the patch order of patchify (row-major grid), shaped (B, N, dim).")
                    lin = ref.patchify(x, p) @ theirs.proj.weight.flatten(1).T + theirs.proj.bias
                    check_close(out, lin, what=f"tokens vs Linear on patchify ({what})")
                n += 1
        # gradients reach the convolution's weight and bias (and match the reference's)
        torch.manual_seed(seed)
        theirs = ref.PatchEmbedding(3, 2, 8).double()
        mine = learner.PatchEmbedding(3, 2, 8)
        mine.to(torch.float64)
        _load(mine, theirs.state_dict(), "PatchEmbedding(3, 2, 8)")
        x = torch.randn(2, 3, 8, 8, generator=generator(seed + 5), dtype=torch.float64)
        out = theirs(x)
        out.square().sum().backward()
        _, _, grads = mine.grad(x, upstream=2 * out.detach())
        for name in ("proj.weight", "proj.bias"):
            got = grads.get(name)
            assert got is not None and got.abs().sum() > 0, f"no gradient reaches {name}"
            check_close(got, dict(theirs.named_parameters())[name].grad, what=f"gradient of {name}")
        assert n >= 16


# --------------------------------------------------------------------------- EncoderBlock

def test_EncoderBlock(learner, ref, seed):
    n = 0
    for ci, (D, h, ratio, B, L) in enumerate([
        (16, 4, 4.0, 2, 5), (24, 3, 2.0, 3, 17), (8, 1, 4.0, 1, 1), (32, 8, 1.0, 4, 65),
        (12, 2, 3.0, 2, 9), (20, 5, 2.5, 1, 33), (64, 4, 2.0, 2, 17),
    ]):
        for dtype in (torch.float32, torch.float64):
            torch.manual_seed(seed + ci)
            theirs = ref.EncoderBlock(D, h, ratio).to(dtype)
            _randomise(theirs, seed + 13 * ci)
            mine = learner.EncoderBlock(D, h, ratio)
            mine.to(dtype)
            cfg = f"EncoderBlock(dim={D}, heads={h}, mlp_ratio={ratio})"
            _load(mine, theirs.state_dict(), cfg)
            hidden = int(D * ratio)
            nparams = _n_params(mine)
            assert nparams == 4 * D + 4 * D * D + 4 * D + 2 * D * hidden + hidden + D, \
                f"{cfg} has {nparams} parameters: check the layers and the MLP width int(dim * mlp_ratio)"
            x = torch.randn(B, L, D, generator=generator(seed + 7 * ci), dtype=torch.float64).to(dtype)
            what = f"{cfg}, input {tuple(x.shape)}, {dtype}"
            tel = nn.TransformerEncoderLayer(D, h, dim_feedforward=hidden, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True).to(dtype)
            with torch.no_grad():
                tel.self_attn.load_state_dict(theirs.attn.state_dict())
                tel.linear1.load_state_dict(theirs.mlp[0].state_dict())
                tel.linear2.load_state_dict(theirs.mlp[2].state_dict())
                tel.norm1.load_state_dict(theirs.norm1.state_dict())
                tel.norm2.load_state_dict(theirs.norm2.state_dict())
            for mode in ("train", "eval"):
                mine.train(mode == "train")
                theirs.train(mode == "train")
                tel.train(mode == "train")
                out = mine(x)
                with torch.no_grad():
                    check_close(out, theirs(x), what=f"output ({what}, {mode} mode)",
                                hint="Pre-norm: x + attn(LN1(x)), then x + mlp(LN2(x)).")
                    check_close(out, tel(x),
                                what=f"output vs nn.TransformerEncoderLayer(norm_first=True, activation='gelu') ({what}, {mode} mode)")
            n += 1
    # permutation equivariance and gradients to every parameter
    torch.manual_seed(seed)
    mine = learner.EncoderBlock(16, 4, 2.0)
    mine.to(torch.float64)
    state = _randomise_learner(mine, seed + 1)
    x = torch.randn(2, 9, 16, generator=generator(seed + 2), dtype=torch.float64)
    perm = torch.randperm(9, generator=generator(seed + 3))
    check_close(mine(x[:, perm]), mine(x)[:, perm], what="output after permuting the tokens",
                hint="Without position information a block must be permutation-equivariant.")
    theirs = ref.EncoderBlock(16, 4, 2.0).double()
    theirs.load_state_dict(state)
    out = theirs(x)
    out.square().sum().backward()
    _, _, grads = mine.grad(x, upstream=2 * out.detach())
    for name, t in theirs.named_parameters():
        got = grads.get(name)
        assert got is not None and got.abs().sum() > 0, f"no gradient reaches {name}: is it used in forward?"
        check_close(got, t.grad, what=f"gradient of {name}")
    assert n >= 14


# --------------------------------------------------------------------------- ViT

def _unpatchify(tokens, size, p):
    return F.fold(tokens.transpose(1, 2), output_size=(size, size), kernel_size=p, stride=p)


_VIT_DETAIL = ("the attribute names, parameter shapes and that every part is registered "
               "as a module or nn.Parameter")


def test_ViT(learner, ref, seed):
    # the reference patchify, PatchEmbedding and EncoderBlock stand in for the learner's
    with learner.patched(patchify=ref.patchify, PatchEmbedding=ref.PatchEmbedding, EncoderBlock=ref.EncoderBlock):
        n = 0
        for ci, (S, p, C, K, D, depth, h, ratio) in enumerate([
            (8, 2, 1, 10, 32, 2, 4, 2.0), (8, 1, 1, 10, 16, 1, 2, 2.0), (8, 4, 3, 5, 24, 3, 3, 4.0),
            (12, 4, 3, 7, 16, 0, 1, 2.0), (16, 4, 2, 3, 32, 2, 8, 1.0), (8, 8, 1, 10, 16, 1, 1, 2.0),
            (8, 2, 1, 1, 8, 4, 2, 2.0),
        ]):
            N = (S // p) ** 2
            cfg = (f"ViT(image_size={S}, patch_size={p}, in_channels={C}, num_classes={K}, dim={D}, "
                   f"depth={depth}, num_heads={h}, mlp_ratio={ratio})")
            for dtype in (torch.float32, torch.float64):
                torch.manual_seed(seed + ci)
                theirs = ref.ViT(S, p, C, K, D, depth, h, ratio).to(dtype)
                _randomise(theirs, seed + 11 * ci)
                mine = learner.ViT(S, p, C, K, D, depth, h, ratio)
                mine.to(dtype)
                assert tuple(mine.cls_token.get().shape) == (1, 1, D), f"{cfg}: cls_token should have shape (1, 1, dim)"
                assert tuple(mine.pos_embed.get().shape) == (1, N + 1, D), \
                    f"{cfg}: pos_embed should have shape (1, N + 1, dim): one row for the class token and one per patch"
                _load(mine, theirs.state_dict(), cfg, kind="model", detail=_VIT_DETAIL)
                nparams = _n_params(mine)
                assert nparams == sum(t.numel() for t in theirs.parameters()), f"{cfg}: unexpected number of parameters"
                for B in (1, 5):
                    x = torch.randn(B, C, S, S, generator=generator(seed + 3 * ci + B), dtype=torch.float64).to(dtype)
                    what = f"{cfg}, batch {B}, {dtype}"
                    out = mine(x)
                    check_tensor(out, shape=(B, K), dtype=dtype, what=f"logits ({what})")
                    with torch.no_grad():
                        check_close(out, theirs(x), what=f"logits ({what})",
                                    hint="Class token first, position embeddings added after it is prepended, final LayerNorm, head on token 0.")
                    n += 1
        # Properties. Permuting the patches together with their position embeddings changes
        # nothing; permuting the patches alone does (the model knows where a patch was).
        for ci, (S, p, dtype) in enumerate([(8, 2, torch.float64), (8, 1, torch.float64), (12, 4, torch.float32)]):
            torch.manual_seed(seed + 50 + ci)
            mine = learner.ViT(S, p, 3, 6, 16, 2, 4, 2.0)
            mine.to(dtype)
            state = _randomise_learner(mine, seed + 60 + ci)
            N = (S // p) ** 2
            x = torch.randn(3, 3, S, S, generator=generator(seed + 70 + ci), dtype=torch.float64).to(dtype)
            perm = torch.randperm(N, generator=generator(seed + 80 + ci))
            xp = _unpatchify(ref.patchify(x, p)[:, perm], S, p)
            base = mine(x)
            moved = mine(xp)
            # the position embeddings of the patches permuted in the judge, then loaded back
            pos = state["pos_embed"].clone()
            pos[:, 1:] = pos[:, 1:][:, perm]
            mine.load_state_dict({**state, "pos_embed": pos})
            both = mine(xp)
            check_close(both, base, what=f"logits after permuting the patches and their position embeddings ({S}x{S}, p={p})",
                        hint="Row n + 1 of pos_embed must belong to patch n, row 0 to the class token.")
            assert not torch.allclose(moved, base, atol=1e-4), \
                f"permuting the patches alone does not change the logits ({S}x{S}, p={p}): are the position embeddings used?"
        # Gradients reach the class token and the position embeddings (and match the reference's).
        torch.manual_seed(seed)
        mine = learner.ViT(8, 2, 1, 10, 16, 1, 2, 2.0)
        mine.to(torch.float64)
        state = _randomise_learner(mine, seed + 90)
        x = torch.randn(4, 1, 8, 8, generator=generator(seed + 91), dtype=torch.float64)
        theirs = ref.ViT(8, 2, 1, 10, 16, 1, 2, 2.0).double()
        theirs.load_state_dict(state)
        out = theirs(x)
        out.square().sum().backward()
        _, _, grads = mine.grad(x, upstream=2 * out.detach())
        for name in ("cls_token", "pos_embed", "head.weight", "norm.weight"):
            got = grads.get(name)
            assert got is not None and got.abs().sum() > 0, f"no gradient reaches {name}: is it used in forward?"
        for name, t in theirs.named_parameters():
            got = grads.get(name)
            assert got is not None, f"no gradient reaches {name}: is it used in forward?"
            check_close(got, t.grad, what=f"gradient of {name}")
        assert n >= 28
