"""Early warnings: four rules (department attainment, below baseline, no work log, over capacity),
deduplicated alerts that can be acknowledged or snoozed, and the manager's battle map.

Layout: ``rules`` (pure), ``store`` (every query), ``cards`` (what people see), ``jobs``
(``alert_scan``, ``battle_map``), ``router`` (chat), ``report`` (CLI and the HR digest)."""

from handlers.alerts.jobs import alert_scan, battle_map
from handlers.alerts.router import router

jobs = [alert_scan, battle_map]

__all__ = ["jobs", "router"]
