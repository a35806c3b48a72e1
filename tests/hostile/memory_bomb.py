"""Reserve memory until the machine runs out (stopped by the address-space limit, not by the machine)."""
import numpy as np


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    hoard = []
    for _ in range(400):   # 100 GiB where nothing stops it; untouched pages, so that the test stays quick
        hoard.append(np.empty(256 * 2**20, dtype=np.uint8))
    return {"error": float(len(hoard))}
