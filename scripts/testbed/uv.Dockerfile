# Stand-in for the official distroless uv image (ghcr.io/astral-sh/uv:<version>):
# FROM scratch with only /uv and /uvx. The static (musl) binaries come from the
# uv wheels on PyPI; the build context holds <arch>/uv and <arch>/uvx with the
# exec bit set. (No "# syntax=" line: BuildKit would try to pull a frontend image.)
FROM scratch
ARG TARGETARCH
ARG UV_VERSION
ARG OFFICIAL
ARG RECIPE
COPY ${TARGETARCH}/uv ${TARGETARCH}/uvx /
WORKDIR /io
LABEL io.uvdock.standin="true" \
      io.uvdock.standin.for="${OFFICIAL}" \
      io.uvdock.standin.recipe="${RECIPE}" \
      org.opencontainers.image.title="uvdock test stand-in for ${OFFICIAL}" \
      org.opencontainers.image.description="Local test stand-in for the official ${OFFICIAL} image; NOT the official image. /uv and /uvx are the static binaries from the uv ${UV_VERSION} musllinux wheels on PyPI. Built by uvdock scripts/testbed.sh." \
      org.opencontainers.image.version="${UV_VERSION}"
ENTRYPOINT ["/uv"]
