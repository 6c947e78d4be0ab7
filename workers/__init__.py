"""Redis Streams consumers and the scheduler: the notification queue and what it delivers."""
