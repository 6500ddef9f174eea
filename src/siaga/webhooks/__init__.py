"""Signed webhooks for integrators: subscriptions, and an outbox of deliveries written with the change they tell."""
