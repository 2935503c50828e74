"""Storage: SQLAlchemy models, Alembic migrations, repository functions, export and import.

Open a database with :class:`Database` (SQLite in the user's data folder by default, any SQLAlchemy
URL otherwise), work inside ``with db.session() as s:`` and call the functions in
:mod:`kneefix.storage.repository` with that session. They return plain records, never ORM objects.
"""

from kneefix.storage.db import Database

__all__ = ["Database"]
