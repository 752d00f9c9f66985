"""Events (issue 26): every change's event in the outbox, written in the change's own
transaction; read in commit order (pull, Server-Sent Events, Open311 updates) and pushed to
webhook subscriptions, at least once and in order."""
