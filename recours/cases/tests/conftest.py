"""Case tests use the root fixtures: staff of every role, two merchants."""
