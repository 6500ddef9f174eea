"""Notifications: SMS and (later) Web Push, behind small adapters, every attempt recorded."""
