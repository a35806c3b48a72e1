"""nngrade: autograded exercises for the neural-network lesson (gradient descent, forward pass, backprop)."""

__version__ = "0.1.0"
