"""Anonymous telemetry from Clew Code CLI instances: heartbeats, events, and statistics."""
