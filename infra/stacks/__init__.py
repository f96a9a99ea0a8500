"""One stack per file."""
