"""Retention: how long cases are kept, the local admin's review of those due, erasure and subject access."""
