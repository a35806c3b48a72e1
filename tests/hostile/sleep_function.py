"""Sleeping far past the time limit."""
import time


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    time.sleep(3600)
