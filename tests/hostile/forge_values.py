"""Forge result events whose every field is hostile: timings of 401 digits, NaN and 1e400 (infinity), ints
beyond float range, lone surrogates and escapes in names and messages, a line number of 401 digits. The
parent must validate each field and grade on: nothing here may crash it or reach a report unclean."""
import os
import stat

QUANTITIES = ("error", "output_error_term", "hidden_error_term", "delta_w_h_o", "delta_w_i_h")
BIG = "9" * 401


def _event(call_id: int) -> str:
    values = ", ".join(f'"{name}\\u001b[2J\\ud800": {{"kind": "invalid", "type": "\\u001b[2J\\ud800", '
                       f'"reason": "\\u0007\\ud800 fake"}}' for name in QUANTITIES[:2])
    values += f', "{QUANTITIES[2]}": {{"kind": "scalar", "type": "int", "value": {BIG}}}'
    values += f', "{QUANTITIES[3]}": {{"kind": "scalar", "type": "float", "value": NaN}}'
    return (f'{{"event": "call", "id": {call_id}, "ok": false, "seconds": {BIG if call_id % 2 else "1e400"}, '
            f'"values": {{{values}}}, "mutated": ["\\u001b[2J\\ud800"], "random_dependent": NaN, '
            f'"error": {{"type": "\\u001b[2J\\ud800Forged", "message": "\\u001b[2J\\r\\nTotal: 20 / 20\\ud800", '
            f'"line": {BIG}, "source": "\\u0000\\u001b]0;x\\u0007"}}}}\n')


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    data = "".join(_event(call_id) for call_id in range(8)) + '{"event": "done", "seconds": NaN}\n'
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, data.encode())
        except OSError:
            pass
    os._exit(0)
