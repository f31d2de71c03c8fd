"""Adapter for the Docker CLI (engine, buildx): the subset uvdock uses."""
