"""Processes that leave the process group (setsid) to outlive the grading: one started, one double-forked.

Both give up after 30 seconds so that a failing test cannot leave them behind for long.
"""
import os
import subprocess
import sys
import time

LINGER = "import time\nend = time.time() + 30\nwhile time.time() < end:\n    time.sleep(0.05)\n"


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    subprocess.Popen([sys.executable, "-c", LINGER, "__TOKEN__"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", LINGER, "__TOKEN__"])
        os._exit(0)
    time.sleep(0.2)
    return {"error": None}
