"""The complaint domain: the aggregate, its values and rules, the plan (policy), the
calendar and the SLA functions. Pure: no database, no clock; imports nothing else of ledger/."""
