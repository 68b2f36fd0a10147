"""A call's change, announced once (NOTIFY on PostgreSQL, in process on SQLite), and its fan-out."""
