"""List what the descriptors that keep Python importable open beyond Python installations.

Where Python lives under a folder other users may not enter (/root, 0700), the child opens, before
it changes user, "the first folder below the last closed one" and reaches Python through
/proc/self/fd/N; ".." from there climbs to that folder, so all of it is in reach. That is /root/.pyenv
for a pyenv Python (other versions and pyenv itself: Pythons only), and would be all of ~/.local for a
uv-managed one, which the child must then not open. What it can list outside sys.prefix and outside
a folder of Pythons goes into its report; with nothing beyond, it raises.
"""
import os
import sys

PYTHON_HOMES = (".pyenv", ".conda", "miniconda3", "anaconda3", "miniforge3", "mambaforge", "micromamba", ".rye")


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    prefix = os.path.realpath(sys.base_prefix) if not sys.base_prefix.startswith("/proc/") else sys.base_prefix
    beyond = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            names = os.listdir(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if os.path.basename(target) in PYTHON_HOMES:
            continue   # a folder of Python installations (pyenv's versions, conda's envs): nothing of its owner's
        for name in names:
            if not os.path.join(target, name).startswith(prefix) and not prefix.startswith(os.path.join(target, name)):
                beyond.append(os.path.join(target, name))
    if not beyond:
        raise PermissionError("nothing beyond the Python installation in reach")
    print("\n".join(sorted(beyond)[:50]))
    return {"error": None}
