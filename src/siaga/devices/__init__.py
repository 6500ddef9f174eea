"""Fixed panic buttons: sites, their devices and the MQTT channel that brings their events in."""
