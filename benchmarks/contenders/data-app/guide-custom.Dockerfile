# Contender guide-custom: from the guide (../shared/seed/000_03018ef736a4bf5c.txt),
# the first Dockerfile after "Real-World Example: FastAPI Application".
# Changed: the `# syntax=` line removed (if any); images mapped onto the stand-ins:
#   ghcr.io/astral-sh/uv:latest -> localhost:5000/standin/astral-sh/uv:0.13.9
#   python:3.13-slim-bookworm -> localhost:5000/standin/library/python:3.13-slim-trixie
# and the one functional edit: the RUN that downloads from PyPI gets
#   --mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle.pem and SSL_CERT_FILE=/run/secrets/ca_bundle.pem
# (this machine reaches PyPI only through its CA). Nothing else changed.

# Build stage
FROM localhost:5000/standin/library/python:3.13-slim-trixie AS builder

# Install UV
COPY --from=localhost:5000/standin/astral-sh/uv:0.13.9 /uv /usr/local/bin/
ENV UV_SYSTEM_PYTHON=1

WORKDIR /build

# Copy dependency files
COPY pyproject.toml uv.lock ./

# Install dependencies with caching
RUN --mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle.pem --mount=type=cache,target=/root/.cache/uv \
    SSL_CERT_FILE=/run/secrets/ca_bundle.pem uv pip install --system --compile-bytecode \
    --no-editable --only-binary :all: \
    -r pyproject.toml

# Final stage
FROM localhost:5000/standin/library/python:3.13-slim-trixie

WORKDIR /app

# Copy installed packages
COPY --from=builder /usr/local/lib/python3.13/site-packages /usr/local/lib/python3.13/site-packages

# Copy application code
COPY . .

# Run as non-root user
RUN useradd -m -s /bin/bash appuser
USER appuser

CMD ["python", "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0"]
