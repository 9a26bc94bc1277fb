"""The HTTP API (Litestar): parse, build a command, dispatch, render."""
