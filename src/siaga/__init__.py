"""Siaga: SOS panic-button and dispatch platform for police and city command centres."""

__version__ = "0.1.0"
