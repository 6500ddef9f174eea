"""Real time: the event hub that tells processes something happened, and the WebSocket streams."""
