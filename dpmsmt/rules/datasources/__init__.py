"""Rules: datasources."""
