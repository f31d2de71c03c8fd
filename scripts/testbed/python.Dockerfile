# Stand-in for the official python:<X.Y>-slim-<suite> image; built per platform
# by scripts/testbed/images.sh from a rootfs tarball made by make-rootfs.sh.
# (No "# syntax=" line: BuildKit would try to pull a frontend image.)
FROM scratch
ADD rootfs.tar.gz /
ARG PYTHON_VERSION
ARG OFFICIAL
ARG RECIPE
ARG PYC
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV LANG=C.UTF-8
ENV PYTHON_VERSION=${PYTHON_VERSION}
LABEL io.uvdock.standin="true" \
      io.uvdock.standin.for="${OFFICIAL}" \
      io.uvdock.standin.recipe="${RECIPE}" \
      org.opencontainers.image.title="uvdock test stand-in for ${OFFICIAL}" \
      org.opencontainers.image.description="Local test stand-in for the official ${OFFICIAL} image; NOT the official image. CPython ${PYTHON_VERSION} compiled from the upstream sources in Debian's python source package into /usr/local (--enable-shared, ensurepip, no PGO/LTO; stdlib .pyc ${PYC}) on a debootstrap --variant=minbase Debian rootfs. Built by uvdock scripts/testbed.sh." \
      org.opencontainers.image.version="${PYTHON_VERSION}"
CMD ["python3"]
