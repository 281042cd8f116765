"""Use cases: each takes its inputs, a store and the time, and returns domain values."""
