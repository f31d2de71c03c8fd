"""data-app: uvdock's heavier benchmark example (numpy, pandas and SQLAlchemy)."""
