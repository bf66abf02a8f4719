"""The demo company: a deterministic, simulated SaaS business in the shapes of the live sources."""

from .generate import DemoCompany, build, generate, write

__all__ = ["DemoCompany", "build", "generate", "write"]
