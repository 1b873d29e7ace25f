"""The `samtal` command: serve, the admin and agency commands, the protocol client (main.py)."""
