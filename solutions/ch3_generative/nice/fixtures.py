"""Test scaffolding of the NICE exercise that runs in the learner's process.

``MixtureDensity`` is the model the hidden test of ``train_nice`` trains with the learner's
loop: a mixture of diagonal Gaussians with a ``log_prob`` method, fast to train and no answer
to any part. The judge builds the same class, loads the trained weights pulled out of the
notebook and measures the log-likelihood of held-out samples. ``count_net_calls`` and
``net_calls`` count the calls of a coupling layer's network (learner-controlled data).
"""
import math

import torch
import torch.nn as nn


class MixtureDensity(nn.Module):
    def __init__(self, dim=2, components=8, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.logits = nn.Parameter(torch.zeros(components))
        self.means = nn.Parameter(torch.randn(components, dim, generator=g))
        self.log_stds = nn.Parameter(torch.zeros(components, dim))

    def log_prob(self, x):
        d = (x[:, None, :] - self.means) / self.log_stds.exp()
        comp = (-0.5 * d**2 - self.log_stds - 0.5 * math.log(2 * math.pi)).sum(-1)
        return torch.logsumexp(comp + self.logits.log_softmax(0), dim=1)


class _Counted(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.inner = net
        self.calls = 0

    def forward(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)


def count_net_calls(layer):
    """Wrap layer.net so that its calls are counted."""
    layer.net = _Counted(layer.net)


def net_calls(layer):
    n = layer.net.calls
    layer.net.calls = 0
    return n
