"""Optional integrations, each in its own room and imported only when used."""
