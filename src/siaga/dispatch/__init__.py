"""Dispatch: recommending the nearest units, direct offers to officers, and escalation timers."""
