"""Helper library for the course notebooks: set-up, seeding, data, plots, test helpers.

It holds no exercise solution: it is installed on learners' machines (and Colab) as is.
"""
from .runtime import setup, seed_everything, scale, num_threads

__all__ = ["setup", "seed_everything", "scale", "num_threads"]
__version__ = "0.1.0"
