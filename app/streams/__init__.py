"""Live updates to browsers: Server-Sent Event streams of calls, fed by the fan-out of published changes."""
