"""The event store: the composition root (persistence chosen by URL), the recorders with
their audit tables and command log, the policy and calendar books, and the cipher of
personal data."""
