# Contender guide-official-basic: from the guide (../shared/seed/000_03018ef736a4bf5c.txt),
# the first Dockerfile after "Using Official UV Docker Images".
# Changed: the `# syntax=` line removed (if any); images mapped onto the stand-ins:
#   ghcr.io/astral-sh/uv:python3.13-bookworm -> localhost:5000/standin/astral-sh/uv:0.13.9-python3.13-trixie-slim
# and the one functional edit: the RUN that downloads from PyPI gets
#   --mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle.pem and SSL_CERT_FILE=/run/secrets/ca_bundle.pem
# (this machine reaches PyPI only through its CA). Nothing else changed.

FROM localhost:5000/standin/astral-sh/uv:0.13.9-python3.13-trixie-slim
COPY . .
RUN --mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle.pem SSL_CERT_FILE=/run/secrets/ca_bundle.pem uv pip install -r requirements.txt

CMD ["python", "-m", "your_application"]
