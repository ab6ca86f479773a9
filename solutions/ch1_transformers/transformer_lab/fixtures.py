"""Test scaffolding of the small-Transformer exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``). It holds no expected value and no code of a graded item.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.seeded import seeded_mlp


def build(cls, *args, **kwargs):
    """An instance of ``cls``: the hidden tests pass the stand-in of the reference model,
    whose forward passes the judge computes (and records)."""
    return cls(*args, **kwargs)


class ReversalMLP(nn.Module):
    """The model the hidden test of ``train_reverser`` trains with the learner's loop, in the
    notebook's process: an MLP over the flattened one-hot sequence, with the interface of
    ``TinyTransformer`` (``model(tokens)`` returns ``(logits, cache)``, here no cache). It is
    not the answer to any part; its initial weights depend on ``seed`` only. The judge builds
    the same class, loads the trained weights pulled out of the notebook and measures them."""

    def __init__(self, vocab_size, length, hidden=128, seed=0):
        super().__init__()
        self.vocab_size = vocab_size
        self.net = seeded_mlp(vocab_size * length, hidden, vocab_size * length, seed=seed)

    def forward(self, tokens, key_padding_mask=None, cache=None):
        x = F.one_hot(tokens, self.vocab_size).to(self.net[0].weight.dtype).flatten(1)
        return self.net(x).view(*tokens.shape, self.vocab_size), None
