"""Write transactions: one per service call; on SQLite an immediate one so writers queue, not fail."""
from __future__ import annotations

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

import core.db.piccolo_conf as conf


def transaction():
    engine = conf.DB
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def in_transaction() -> bool:
    return conf.DB.current_transaction.get() is not None
