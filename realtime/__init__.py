"""The Starlette hub: HTTP API, WebSocket endpoint, fan-out and the table service."""
