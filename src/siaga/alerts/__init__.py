"""Alerts: the SOS itself, its state machine, timeline and location trail."""
