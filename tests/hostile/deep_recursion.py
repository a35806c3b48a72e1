"""Unbounded recursion through C calls with the recursion limit lifted: the C stack overflows."""
import sys

sys.setrecursionlimit(10**8)


def down(depth):
    return down.__call__(depth + 1) + 1


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    return {"error": float(down(0))}
