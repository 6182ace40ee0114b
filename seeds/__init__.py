"""Reference data and the demo data set, loaded idempotently by `portal seed`."""
