"""Rules: change."""
