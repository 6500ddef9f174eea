"""Alerts in the Common Alerting Protocol (OASIS CAP 1.2): one alert's CAP message and an agency's Atom feed."""
