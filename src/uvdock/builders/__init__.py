"""Builders: turn a BuildPlan into an image (BuildKit through ``docker buildx`` for now)."""
