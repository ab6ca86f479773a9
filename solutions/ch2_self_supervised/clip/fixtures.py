"""Test scaffolding of the CLIP exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``). It holds no expected value and no code of a graded item.

``ToyDualEncoder`` is the model the hidden test of ``zero_shot_classify`` classifies with: a
fixed random linear image map and a bag-of-words text map, both normalised, built from a seed
(the judge builds the same one). ``build`` makes an instance of a class the judge names (the
stand-in of the reference ``DualEncoder`` whose passes the judge computes). ``count_calls``
wraps a model's ``encode_text`` and ``encode_image`` so that their calls and rows are counted.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ToyDualEncoder(nn.Module):
    def __init__(self, vocab_size, dim=8, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.image_map = nn.Parameter(torch.randn(256, dim, generator=g) / 16)
        self.word_map = nn.Parameter(torch.randn(vocab_size, dim, generator=g))
        self.calls = {"encode_text": 0, "encode_image": 0, "text_rows": 0}

    def image_encoder(self, images):
        """Raw image features (not normalised)."""
        return images.flatten(1) @ self.image_map

    def text_encoder(self, tokens):
        """Raw text features (not normalised): the sum of the word vectors, padding left out."""
        keep = (tokens != 0).to(self.word_map.dtype)
        bag = F.one_hot(tokens, self.word_map.shape[0]).to(self.word_map.dtype) * keep[..., None]
        return bag.sum(1) @ self.word_map

    def encode_image(self, images):
        self.calls["encode_image"] += 1
        return F.normalize(self.image_encoder(images), dim=-1)

    def encode_text(self, tokens):
        self.calls["encode_text"] += 1
        self.calls["text_rows"] += len(tokens)
        return F.normalize(self.text_encoder(tokens), dim=-1)


def calls(model):
    out = dict(model.calls)
    model.calls = {k: 0 for k in out}
    return out


def build(cls, *args, **kwargs):
    """An instance of ``cls``: the hidden test of the training loop passes the stand-in of the
    reference model, whose forward passes the judge computes."""
    return cls(*args, **kwargs)
