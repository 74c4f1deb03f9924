"""HTTP endpoints: channel authorization, webhooks, health."""
