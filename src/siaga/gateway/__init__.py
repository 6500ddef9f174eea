"""Device gateways: another system that serves panic buttons raises their alarms over HTTPS with an API key."""
