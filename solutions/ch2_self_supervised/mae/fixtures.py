"""Test scaffolding of the masked-autoencoder exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``). It holds no expected value and no code of a graded item.
"""
import torch
import torch.nn as nn

from dlcourse.seeded import seeded_mlp


_FINGERPRINT = torch.rand(64, generator=torch.Generator().manual_seed(7), dtype=torch.float64)


def distinct_images(model) -> int:
    """How many different images the training loop fed ``model`` (a PixelMaskAE)."""
    return int(torch.cat(model.seen).unique().numel()) if model.seen else 0


class PixelMaskAE(nn.Module):
    """The model the hidden test of ``train_mae`` trains with the learner's loop, in the
    notebook's process, with TinyMAE's interface: ``model(images, mask_ratio, noise=None)``
    returns ``(loss, pred, mask)``. It hides each pixel independently with probability
    ``mask_ratio`` (not MAE's per-sample shuffle of patches), fills in the whole image from
    the visible pixels and their mask with an MLP, and scores the hidden pixels only. It is
    not the answer to any part; its initial weights depend on ``seed`` only. The judge builds
    the same class, loads the trained weights pulled out of the notebook and measures them."""

    def __init__(self, pixels=64, hidden=512, seed=0):
        super().__init__()
        self.net = seeded_mlp(2 * pixels, hidden, pixels, seed=seed)

        self.seen = []                       # one fingerprint per image fed while training

    def forward(self, images, mask_ratio, noise=None):
        x = images.flatten(1)
        if self.training:
            self.seen.append((x.detach().double() @ _FINGERPRINT[: x.shape[1]]).round(decimals=6))
        noise = torch.rand(x.shape, dtype=x.dtype) if noise is None else noise
        mask = (noise < mask_ratio).to(x.dtype)                     # 1 = hidden
        pred = self.net(torch.cat([x * (1 - mask), mask], dim=1))
        loss = (((pred - x) ** 2) * mask).sum() / mask.sum().clamp(min=1)
        return loss, pred, mask
