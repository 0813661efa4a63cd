"""Proof that nothing was altered: the hash chain, seals and their verification, audit
bundles, and the history views auditors read."""
