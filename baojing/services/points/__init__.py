"""The points store's rules: the ledger, awards, redemptions, expiry, verification."""
