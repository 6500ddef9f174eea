"""GPS trackers and Traccar Client: positions and SOS over the OsmAnd HTTP protocol."""
