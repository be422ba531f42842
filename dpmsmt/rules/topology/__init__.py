"""Rules: topology."""
