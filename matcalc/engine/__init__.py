"""The identities as data and the chain-rule engine that applies them: derivation,
simplification, steps."""
