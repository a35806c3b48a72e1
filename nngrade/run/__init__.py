"""Running student code: the child process, its sandbox and users, the warm server, the wire format."""
