"""Admin for channel policies and the check-access page."""
