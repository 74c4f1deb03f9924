"""Admin for live state: channels, members, webhook deliveries, realtime status."""
