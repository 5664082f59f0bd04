"""Statutory clocks acted on when they run out: the deadline sweeper."""
