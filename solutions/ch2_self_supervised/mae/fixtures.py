"""Test scaffolding of the masked-autoencoder exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``). It holds no expected value and no code of a graded item.
"""


def build(cls, *args, **kwargs):
    """An instance of ``cls``: the hidden test of the training loop passes the stand-in of the
    reference model, whose forward passes the judge computes."""
    return cls(*args, **kwargs)
