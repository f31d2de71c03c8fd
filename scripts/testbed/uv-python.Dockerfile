# Stand-in for uv's derived image ghcr.io/astral-sh/uv:<version>-python<X.Y>-<suite>-slim:
# the python stand-in plus uv and uvx in /usr/local/bin, as uv's own derived
# images are made. (No "# syntax=" line: BuildKit would try to pull a frontend image.)
ARG PY_IMAGE
ARG UV_IMAGE
FROM ${UV_IMAGE} AS uv
FROM ${PY_IMAGE}
ARG UV_VERSION
ARG OFFICIAL
ARG RECIPE
COPY --from=uv /uv /uvx /usr/local/bin/
ENV UV_TOOL_BIN_DIR=/usr/local/bin
LABEL io.uvdock.standin="true" \
      io.uvdock.standin.for="${OFFICIAL}" \
      io.uvdock.standin.recipe="${RECIPE}" \
      org.opencontainers.image.title="uvdock test stand-in for ${OFFICIAL}" \
      org.opencontainers.image.description="Local test stand-in for the official ${OFFICIAL} image; NOT the official image. The uvdock python stand-in (CPython from Debian's source package, no PGO/LTO) plus uv ${UV_VERSION} from the PyPI wheels in /usr/local/bin. Built by uvdock scripts/testbed.sh." \
      org.opencontainers.image.version="${UV_VERSION}"
ENTRYPOINT []
CMD ["/usr/local/bin/uv"]
