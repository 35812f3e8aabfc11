"""The database: Piccolo tables over the embedded SQLite default or PostgreSQL."""

#: ids and versions are PostgreSQL ``serial``/``integer`` columns, 32-bit signed; SQLite is held to the same limit so
#: both databases answer a too-large number alike
MAX_ID = 2**31 - 1
