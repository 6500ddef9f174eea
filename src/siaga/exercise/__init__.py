"""Drills: synthetic residents and officers whose alerts are exercises, kept out of real reports."""
