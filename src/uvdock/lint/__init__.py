"""``uvdock lint``: a Dockerfile linter that knows Python and uv."""
