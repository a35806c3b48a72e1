"""Slip past the uid sweep: a daemon whose main thread exits while another thread of it runs on.

The thread group's leader is then a zombie in /proc (state Z, an empty command line), and the
sweep skips zombies: the process is never killed and the sweep reports the user clean. Its
running thread writes `/tmp/<token>-survived` 3 seconds later, which only a survivor can do
(the sweep removes the user's files in /tmp), and ends after 30 seconds at most.
"""
import ctypes
import os
import threading
import time

SYS_EXIT = 60   # x86_64: ends the calling thread alone (exit() would end the whole process)


def _linger():
    libc = ctypes.CDLL(None)
    libc.prctl(15, b"__TOKEN__", 0, 0, 0)   # PR_SET_NAME of this thread: findable by the test
    time.sleep(3)
    with open("/tmp/__TOKEN__-survived", "w") as handle:
        handle.write(f"survived the sweep as user {os.getuid()}\n")
    end = time.time() + 27
    while time.time() < end:
        time.sleep(0.05)
    os._exit(0)


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    if os.fork() == 0:
        os.setsid()
        libc = ctypes.CDLL(None)
        libc.prctl(15, b"__TOKEN__", 0, 0, 0)
        threading.Thread(target=_linger).start()
        time.sleep(0.05)
        libc.syscall(SYS_EXIT, 0)   # the leader goes; the thread above keeps the process alive
    time.sleep(0.2)
    return {"error": None}
