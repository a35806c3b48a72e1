"""Lone surrogates ('\ud800') in the texts that reach the report: no UTF-8 writer can encode one, and the
first such report stopped a bulk run for every student after it. (Python refuses them in names of types,
so they come in exception messages, prints and values; forge_values.py forges the rest.)"""
import os
import sys

print("printed \ud800 surrogate", file=sys.stderr)       # the child's stderr escapes it
os.write(2, b"raw \xed\xa0\x80 encoded surrogate \xff\n")    # bytes that are no UTF-8


class Weird(str):
    pass


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    error = Weird("\ud800")              # not a number: reported with its type's name
    output_error_term = "\udcff\ud800"
    raise ValueError("message \ud800 and \udcff, lone surrogates")
