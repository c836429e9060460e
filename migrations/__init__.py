"""Alembic migrations of the inquiry-triage database, shipped inside the wheel."""
