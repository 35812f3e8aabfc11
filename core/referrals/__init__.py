"""Referrals: rules evaluated on case events, and referrals raised by rules and people."""
