"""The Complaint aggregate's command methods, by concern: each checks the rules, then records.

They are plain functions of the complaint, bound as methods in ``ledger.domain.complaint``,
which keeps the event classes and the ``@event`` bodies: those must stay on the class, since
each stored event names its class there (``ledger.domain.topics``).
"""
