"""A living city, and the drill mode of a real deployment.

The simulator is a client of Siaga's public API and streams, nothing more: it logs in as an administrator, asks
the exercise API for synthetic officers and residents, and then plays them the way their phones would (duty,
positions, offers, en route, on scene, report; presses, trails, cancels), optionally with operators too. Every alert
it raises is an exercise, kept out of real reports.
"""
