"""The HTTP API (``complaint-ledger serve``): the same command models and the same ``handle``
as the command line, with identity proven by bearer tokens of the staff directory."""
