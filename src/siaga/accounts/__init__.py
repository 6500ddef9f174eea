"""Accounts: residents (phone + one-time code), staff with roles, units and sessions."""
