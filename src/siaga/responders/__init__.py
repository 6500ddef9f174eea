"""Responders: officers on and off duty, their positions, and the state of their units."""
