"""A segmentation fault through ctypes."""
import ctypes


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    return {"error": ctypes.string_at(0)}
