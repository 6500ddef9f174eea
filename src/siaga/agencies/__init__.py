"""Agencies (command centre, Polres, Polsek), jurisdictions and the point -> agency rule."""
