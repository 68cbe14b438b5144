"""The agents' and shift leads' web console: JSON API, websocket events, browser page."""
