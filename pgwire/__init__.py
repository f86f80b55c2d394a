"""pgwire: an asyncio PostgreSQL driver with a C engine and asyncpg's API."""
__version__ = "0.1.0"
