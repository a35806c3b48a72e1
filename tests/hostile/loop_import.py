"""An endless loop at import."""
while True:
    pass
