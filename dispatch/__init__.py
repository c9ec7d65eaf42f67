"""The send core: outboxes, their messages, claims, policy gates, gateway
batches, delivery reports and counters. It knows no producer."""
