"""Importers: exports of other systems turned into the ledger's commands."""
