"""Helpers shared by several features: the work calendar (dates, weeks) and goal read models."""
