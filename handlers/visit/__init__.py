"""Visit feedback: tag card after a customer visit, notes, points, weekly summary (router.py)."""

from handlers.visit.router import router, visit_scan
from handlers.visit.summary import visit_summary

jobs = [visit_scan, visit_summary]

__all__ = ["jobs", "router"]
