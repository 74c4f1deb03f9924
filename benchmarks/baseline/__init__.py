"""What a user writes without this app: the baselines' own models and views."""
