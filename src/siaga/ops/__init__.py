"""Running Siaga safely over time: backups and restores, retention and the purge that enforces it."""
