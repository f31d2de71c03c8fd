"""The daemonless engine: OCI images assembled from the lockfile, no Docker daemon, no emulation."""
