"""Terminal escapes and control characters in prints and in a 1 MB exception message: they cleared the
instructor's terminal and drew a fake total over the real one."""
import sys

FAKE = "\x1b[2J\x1b[H\x1b]0;graded\x07Total: 20 / 20\r\n\x1b[1A\x1b[K\a\x00\x9b2J\u202e"
print(FAKE * 3)
print(FAKE, file=sys.stderr)


class Loud(Exception):
    pass


Loud.__name__ = "\x1b[2JLoud\nTotal: 20 / 20"


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    print("\x1b[2J\x1b[3J\x1bc", end="")
    raise Loud((FAKE + "\nTotal: 20 / 20\n") * (1_000_000 // len(FAKE)))
