"""The audit log: every change, every login and every read of a resident's personal data."""
