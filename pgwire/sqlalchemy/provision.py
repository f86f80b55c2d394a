"""Test provisioning for postgresql+pgwire: PostgreSQL's own.

SQLAlchemy's testing plugin imports ``<dialect package>.provision``
(``DefaultDialect.load_provisioning``) to find how to create databases,
temporary tables and so on for a backend; nothing else imports this.
"""

from sqlalchemy.dialects.postgresql import provision  # noqa: F401
