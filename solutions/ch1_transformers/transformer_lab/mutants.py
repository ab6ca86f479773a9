"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/variants.py."""
from autograder.authoring.variants import mutant, variant

PE, MHA, MODEL, TRAIN, GEN = "sinusoidal_encoding", "multi_head_attention", "tiny_transformer", "train_reverser", "generate"

MUTANTS = []
VARIANTS = []
