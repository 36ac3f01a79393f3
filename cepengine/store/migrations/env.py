"""Alembic environment: always run programmatically by SqlStore, which
passes its open connection in `config.attributes["connection"]`."""

from alembic import context

from cepengine.store.sql import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
