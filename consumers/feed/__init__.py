"""The event feed: every event of the log, in log order, published to a message stream
(NATS JetStream) as CloudEvents, for consumers outside the ledger's database (docs/feed.md).

Like the projections it reads the notification log from a position it keeps in the ledger's
own database; unlike them it writes nothing else there. Personal data leaves only sealed.
"""
