"""Test scaffolding of the online-detection exercise that runs in the learner's process.

``WindowMLP`` is the model the hidden test of ``train_detector`` trains with the learner's
loop: a plain MLP on the flattened window, with the interface of OadTR. It is not the answer
to any part (nothing here is secret); the judge builds the same class, loads the trained
weights pulled out of the notebook and evaluates it on streams of its own.
"""
import torch.nn as nn


class WindowMLP(nn.Module):
    def __init__(self, in_dim, num_classes, window, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_dim * window, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, windows, valid=None):
        return self.net(windows)
