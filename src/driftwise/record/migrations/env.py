"""Alembic's environment: migrations run on the connection the caller passes.

:func:`driftwise.record.migrate` puts an open connection (inside its transaction) in
``config.attributes["connection"]``; no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
