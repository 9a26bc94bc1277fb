"""Redis: the embedded server, live channels, device presence, request and login rate limits,
WebSocket tickets and socket slots."""
