"""The statistics app keeps no rows of its own: it reads the campaign's
outbox counters and per-minute buckets (`dispatch.OutboxStats`,
`dispatch.SendBucket`) and the conversion counters."""
