"""Background work after a call ends: the extraction job, its lease, its retries and the sweep."""
