"""The record's schema migrations (Alembic), run by :func:`driftwise.record.migrate`."""
