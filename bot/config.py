"""Typed settings loaded from TOML plus environment overrides.

Nothing here runs at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO_ROOT / "config.example.toml"


class ConfigError(Exception):
    """A configuration problem, naming the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config error: {key}: {message}")
        self.key = key


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024
    ingest_token: str = ""  # enables POST /ingest/{visits,metrics,tasks,worklogs} when set
    stall_log_ms: int = 1000  # log the loop thread's stack when the event loop stalls this long (0: off)
    processes: int = 1  # serving processes on this port (PostgreSQL only; bot/supervisor.py)


@dataclass
class StorageSettings:
    url: str = "sqlite:///perfbot.db"


@dataclass
class EngineSettings:
    """How much work one process does at once (see docs/DEVELOPING.md, "The engine")."""

    event_workers: int = 2  # PostgreSQL: worker threads (each holds a pooled connection) for inbound events
    sqlite_workers: int = 2  # SQLite: one writer at a time, so a couple of workers is enough
    queue_per_worker: int = 1000  # events waiting per worker; beyond it they stay pending in the inbox
    fanout_chunk: int = 500  # rows per transaction when a job builds a large fan-out
    pending_sweep_seconds: int = 60  # how often events left pending (crash, full queue) are replayed
    # While callbacks are being accepted, an event worker waits up to this long before its next event,
    # and an outbox round before it claims (acknowledgements first; bot.engine.AcceptFirst). 0 turns it off.
    accept_first_ms: int = 200
    # ...and until no callback has been accepted for this long: in a burst the next callback is usually
    # less than a millisecond behind (bench_wecom: SQLite 0.23-0.26 -> 0.38-0.55 of bare); 0 turns it off
    accept_first_linger_ms: float = 3.0
    # ...but only in a burst: this many callbacks being accepted at once (bench_wecom: 8 or more for nine
    # in ten callbacks of a burst, 2 on average in a steady stream at half the bot's rate). 1: every acceptance.
    accept_first_burst: int = 8
    # A backlog is worked off several queued events to a transaction: up to this many, while the
    # transaction is younger than batch_ms. 1 turns it off.
    batch_events: int = 16
    batch_ms: float = 10.0
    # After start-up the loaded models are frozen out of the cyclic collector's sight (gc.freeze), which
    # leaves its oldest generation nearly empty, so Python's own rule (a full collection once 10 younger
    # ones have run and it grew by a quarter) ran one every few hundred messages, each scanning every
    # event and request in flight and stopping all threads for 11-38 ms (bench_wecom). A full collection
    # runs at most once per this many younger ones instead (Python's default: 10).
    gc_full_every: int = 100
    # PostgreSQL: helper processes working off inbound events on other cores (bot/event_process.py), each
    # taking as many senders as this process's threads; only with 2+ CPUs and one serving process; 0 off.
    # They run at this much lower CPU priority (nice), so acknowledgements come first.
    event_processes: int = 1
    event_process_nice: int = 10


@dataclass
class WeComSettings:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com/cgi-bin"
    callback_path: str = "/wecom/callback"
    max_timestamp_skew_seconds: int = 300
    per_user_per_minute: int = 25
    per_user_per_hour: int = 900
    # Platform-wide budget for this app's message/send + update_template_card calls, shared by all
    # processes (WeCom: 10 000 calls/min per API per corp; we stay well below, protocols.md A8.5).
    app_calls_per_minute: int = 6000
    max_users_per_call: int = 1000  # touser joined by "|" for identical content (WeCom's maximum)
    api_timeout_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.corp_id and self.secret and self.token and self.encoding_aes_key and self.agent_id)

    def missing(self) -> list[str]:
        names = ["corp_id", "agent_id", "secret", "token", "encoding_aes_key"]
        return [n for n in names if not getattr(self, n)]


@dataclass
class DingTalkSettings:
    client_id: str = ""
    client_secret: str = ""
    robot_code: str = ""
    openapi_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"  # legacy host of the contacts (通讯录) read APIs
    card_template_id: str = ""
    batch_size: int = 20
    per_user_per_minute: int = 20
    # Per-app OpenAPI QPS (20 on the standard edition, protocols.md B10), shared by all processes.
    app_qps: int = 20
    api_timeout_seconds: float = 10.0
    # Open the Stream (receive messages and card taps) in this process. False: send only. For
    # several machines on one database: DingTalk hands each push to one of the app's live Stream
    # connections, so one or two nodes listen and every node sends (protocols.md B3).
    stream: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def missing(self) -> list[str]:
        return [n for n in ("client_id", "client_secret") if not getattr(self, n)]


@dataclass
class ScheduleSettings:
    timezone: str = "Asia/Shanghai"
    checkin_cron: str = "0 16 * * fri"
    visit_summary_cron: str = "0 9 * * mon"
    risk_digest_cron: str = "30 9 * * mon"
    escalation_scan_cron: str = "*/10 * * * *"
    alert_scan_cron: str = "0 8 * * mon"
    battle_map_cron: str = "30 8 * * mon"
    directory_sync_cron: str = "0 2 * * *"
    retention_cron: str = "30 3 * * *"
    misfire_grace_hours: int = 24

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


APPROVAL_MODES = ("manager_then_director", "director_only")


@dataclass
class PolicySettings:
    reminder_hours: int = 24
    hrbp_escalation_hours: int = 48
    feedback_reminder_hours: int = 48
    feedback_hrbp_hours: int = 72
    max_adjustment_percent: float = 10.0
    director_threshold_percent: float = 5.0
    # above director_threshold_percent: "manager_then_director" (the manager approves first, then the
    # director) or "director_only" (the director decides alone; the manager is informed)
    approval_mode: str = "manager_then_director"
    approval_escalation_hours: int = 24
    # goals counted in these units take whole-number targets only (18 家, never 17.5 家)
    whole_number_units: list[str] = field(
        default_factory=lambda: ["家", "个", "人", "次", "单", "件", "台", "条", "份", "位", "名", "场", "项", "所", "套"]
    )
    visit_chat_daily_cap: int = 5  # most visits one rep may declare by chat (「拜访结束 X」) per day; 0 = none
    visit_nudge_minutes: int = 15
    visit_note_max_chars: int = 20
    visit_max_tags: int = 3
    visit_tags: list[str] = field(
        default_factory=lambda: ["沟通质量好", "需求洞察深", "价格异议", "竞品威胁", "决策链清晰", "需技术支持"]
    )
    points_redeem_every: int = 10
    points_redeem_text: str = "可兑换：1 小时弹性假 或 一次部门下午茶。"
    rising_term_percent: float = 40.0
    risk_repeat_count: int = 2
    risk_repeat_days: int = 14
    alert_min_severity: int = 3
    digest_window_minutes: int = 30
    directory_max_leavers_percent: float = 20.0
    alert_attainment_yellow_percent: float = 80.0
    alert_attainment_red_percent: float = 60.0
    alert_baseline_drop_percent: float = 15.0
    alert_baseline_months: int = 3
    alert_baseline_weeks: int = 2
    alert_worklog_months: int = 2
    alert_capacity_percent: float = 80.0
    alert_snooze_days: int = 7


@dataclass
class CalendarSettings:
    """Operator additions to the holiday calendar (ISO dates); they win over chinesecalendar."""

    extra_holidays: list[str] = field(default_factory=list)
    extra_workdays: list[str] = field(default_factory=list)

    def holidays(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d) for d in self.extra_holidays)

    def workdays(self) -> frozenset[date]:
        return frozenset(date.fromisoformat(d) for d in self.extra_workdays)


@dataclass
class OutboxSettings:
    park_after_hours: float = 24.0  # retry transient failures (backoff + jitter) this long, then park
    max_backoff_seconds: int = 900  # the longest wait between two attempts
    first_backoff_seconds: float = 2.0


@dataclass
class RetentionSettings:
    """How long finished records are kept (they hold people's messages; see README "Data retention")."""

    outbox_days: int = 90  # sent and failed outbox rows (pending and parked ones are never removed)
    inbound_days: int = 90  # processed inbound events (the dedup record of each platform delivery)


RETENTION_MIN_DAYS = 30  # below this, a late platform redelivery or a job's look-back could act twice


@dataclass
class SmtpSettings:
    host: str = ""
    port: int = 25
    username: str = ""
    password: str = ""
    sender: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    wecom: WeComSettings = field(default_factory=WeComSettings)
    dingtalk: DingTalkSettings = field(default_factory=DingTalkSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    source: str = "<defaults>"


# Environment variables that override secrets and deployment-specific values.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "PERFBOT_STORAGE_URL": ("storage", "url"),
    "PERFBOT_SERVER_HOST": ("server", "host"),
    "PERFBOT_SERVER_PORT": ("server", "port"),
    "PERFBOT_INGEST_TOKEN": ("server", "ingest_token"),
    "PERFBOT_SERVER_STALL_LOG_MS": ("server", "stall_log_ms"),
    "PERFBOT_ENGINE_ACCEPT_FIRST_MS": ("engine", "accept_first_ms"),
    "PERFBOT_ENGINE_ACCEPT_FIRST_LINGER_MS": ("engine", "accept_first_linger_ms"),
    "PERFBOT_ENGINE_ACCEPT_FIRST_BURST": ("engine", "accept_first_burst"),
    "PERFBOT_ENGINE_GC_FULL_EVERY": ("engine", "gc_full_every"),
    "PERFBOT_ENGINE_EVENT_PROCESSES": ("engine", "event_processes"),
    "PERFBOT_WECOM_CORP_ID": ("wecom", "corp_id"),
    "PERFBOT_WECOM_AGENT_ID": ("wecom", "agent_id"),
    "PERFBOT_WECOM_SECRET": ("wecom", "secret"),
    "PERFBOT_WECOM_TOKEN": ("wecom", "token"),
    "PERFBOT_WECOM_ENCODING_AES_KEY": ("wecom", "encoding_aes_key"),
    "PERFBOT_WECOM_API_BASE": ("wecom", "api_base"),
    "PERFBOT_DINGTALK_CLIENT_ID": ("dingtalk", "client_id"),
    "PERFBOT_DINGTALK_CLIENT_SECRET": ("dingtalk", "client_secret"),
    "PERFBOT_DINGTALK_ROBOT_CODE": ("dingtalk", "robot_code"),
    "PERFBOT_DINGTALK_OPENAPI_BASE": ("dingtalk", "openapi_base"),
    "PERFBOT_DINGTALK_OAPI_BASE": ("dingtalk", "oapi_base"),
    "PERFBOT_DINGTALK_STREAM": ("dingtalk", "stream"),
    "PERFBOT_SMTP_PASSWORD": ("smtp", "password"),
}


def _coerce(key: str, value: Any, default: Any) -> Any:
    expected = type(default)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        raise ConfigError(key, f"expected true/false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ConfigError(key, f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected a number, got {value!r}") from None
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, "expected a list of strings")
        return value
    if not isinstance(value, expected):
        raise ConfigError(key, f"expected a {expected.__name__}, got {value!r}")
    return value


def _apply(section_obj: Any, section: str, values: dict[str, Any]) -> None:
    known = {f.name for f in fields(section_obj)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{section}.{key}", "unknown key (see config.example.toml)")
        setattr(section_obj, key, _coerce(f"{section}.{key}", value, getattr(section_obj, key)))


def apply_sections(settings: Settings, data: dict[str, Any]) -> None:
    """Set ``settings`` from ``{section: {key: value}}`` (a config file, or a helper's hand-over)."""
    for section, values in data.items():
        target = getattr(settings, section, None) if section != "source" else None
        if target is None or not hasattr(target, "__dataclass_fields__"):
            raise ConfigError(section, "unknown section (see config.example.toml)")
        if not isinstance(values, dict):
            raise ConfigError(section, "must be a table")
        _apply(target, section, values)


def check_processes(s: Settings) -> None:
    if not 1 <= s.server.processes <= 64:
        raise ConfigError("server.processes", "must be between 1 and 64")
    if s.server.processes > 1 and s.storage.url.startswith("sqlite"):
        raise ConfigError("server.processes", "SQLite is served by one process; several need PostgreSQL "
                                              "([storage] url = \"postgresql+psycopg://...\")")


def _validate(s: Settings) -> None:
    try:
        ZoneInfo(s.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("schedule.timezone", f"unknown time zone {s.schedule.timezone!r}") from None
    if not (0 < s.server.port < 65536):
        raise ConfigError("server.port", "must be between 1 and 65535")
    if s.server.stall_log_ms != 0 and not (50 <= s.server.stall_log_ms <= 60_000):
        raise ConfigError("server.stall_log_ms", "must be 0 (off) or between 50 and 60000")
    url = s.storage.url
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError("storage.url", "must be a sqlite:/// or postgresql+psycopg:// URL")
    check_processes(s)
    if s.wecom.encoding_aes_key and len(s.wecom.encoding_aes_key) != 43:
        raise ConfigError("wecom.encoding_aes_key", "must be exactly 43 characters")
    if not (0 < s.policy.directory_max_leavers_percent <= 100):
        raise ConfigError("policy.directory_max_leavers_percent", "must be in (0, 100]")
    if not (0 < s.policy.max_adjustment_percent <= 100):
        raise ConfigError("policy.max_adjustment_percent", "must be in (0, 100]")
    if s.policy.approval_mode not in APPROVAL_MODES:
        raise ConfigError("policy.approval_mode", f"must be one of {', '.join(APPROVAL_MODES)}, "
                                                  f"got {s.policy.approval_mode!r}")
    if s.policy.visit_chat_daily_cap < 0:
        raise ConfigError("policy.visit_chat_daily_cap", "must be 0 (no cap) or more")
    for name in ("checkin_cron", "visit_summary_cron", "risk_digest_cron", "escalation_scan_cron",
                 "alert_scan_cron", "battle_map_cron", "directory_sync_cron", "retention_cron"):
        value = getattr(s.schedule, name)
        if len(value.split()) != 5:
            raise ConfigError(f"schedule.{name}", f"expected a 5-field cron expression, got {value!r}")
    for name in ("extra_holidays", "extra_workdays"):
        for value in getattr(s.calendar, name):
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ConfigError(f"calendar.{name}", f"expected dates as YYYY-MM-DD, got {value!r}") from None
    both = s.calendar.holidays() & s.calendar.workdays()
    if both:
        raise ConfigError("calendar.extra_workdays", f"{min(both)} is also listed in extra_holidays")
    p = s.policy
    if not 0 < p.alert_attainment_red_percent < p.alert_attainment_yellow_percent:
        raise ConfigError("policy.alert_attainment_red_percent",
                          "must be above 0 and below alert_attainment_yellow_percent")
    for name in ("alert_baseline_months", "alert_baseline_weeks", "alert_worklog_months", "alert_snooze_days"):
        if getattr(p, name) < 1:
            raise ConfigError(f"policy.{name}", "must be at least 1")
    if not 0 < p.alert_baseline_drop_percent < 100:
        raise ConfigError("policy.alert_baseline_drop_percent", "must be between 0 and 100")
    if p.alert_capacity_percent <= 0:
        raise ConfigError("policy.alert_capacity_percent", "must be above 0")
    if s.schedule.misfire_grace_hours <= 0:
        raise ConfigError("schedule.misfire_grace_hours", "must be at least 1 (hours a missed run may still catch up)")
    for name in ("outbox_days", "inbound_days"):
        if getattr(s.retention, name) < RETENTION_MIN_DAYS:
            raise ConfigError(f"retention.{name}", f"must be at least {RETENTION_MIN_DAYS} (days a finished record "
                                                   "still guards against sending or processing twice)")
    if s.outbox.park_after_hours <= 0:
        raise ConfigError("outbox.park_after_hours", "must be > 0 (hours of retries before a message is parked)")
    if not 1 <= s.outbox.max_backoff_seconds <= 86400 or s.outbox.first_backoff_seconds <= 0:
        raise ConfigError("outbox.max_backoff_seconds", "must be between 1 and 86400 (first_backoff_seconds > 0)")
    if not 1 <= s.wecom.max_users_per_call <= 1000:
        raise ConfigError("wecom.max_users_per_call", "must be between 1 and 1000 (WeCom's touser limit)")
    for key, value in (("wecom.app_calls_per_minute", s.wecom.app_calls_per_minute),
                       ("dingtalk.app_qps", s.dingtalk.app_qps)):
        if value < 1:
            raise ConfigError(key, "must be at least 1")
    for name in ("event_workers", "sqlite_workers", "queue_per_worker", "fanout_chunk", "pending_sweep_seconds"):
        if getattr(s.engine, name) < 1:
            raise ConfigError(f"engine.{name}", "must be at least 1")
    if not 0 <= s.engine.accept_first_ms <= 1000:
        raise ConfigError("engine.accept_first_ms", "must be between 0 and 1000 (milliseconds; 0 turns it off)")
    if not 0 <= s.engine.accept_first_linger_ms <= 100:
        raise ConfigError("engine.accept_first_linger_ms", "must be between 0 and 100 (milliseconds; 0 turns it off)")
    if not 1 <= s.engine.batch_events <= 256:
        raise ConfigError("engine.batch_events", "must be between 1 and 256 (1 turns grouping off)")
    if not 0 < s.engine.batch_ms <= 1000:
        raise ConfigError("engine.batch_ms", "must be above 0 and at most 1000 (milliseconds)")
    if not 1 <= s.engine.accept_first_burst <= 1000:
        raise ConfigError("engine.accept_first_burst", "must be between 1 and 1000 (1: every acceptance holds the workers)")
    if not 1 <= s.engine.gc_full_every <= 10_000:
        raise ConfigError("engine.gc_full_every", "must be between 1 and 10000 (Python's own default is 10)")
    if not 0 <= s.engine.event_processes <= 16:
        raise ConfigError("engine.event_processes", "must be between 0 and 16 (0 turns helper processes off)")
    if not 0 <= s.engine.event_process_nice <= 19:
        raise ConfigError("engine.event_process_nice", "must be between 0 and 19 (the helpers' nice value)")
    if s.engine.event_workers > 32:
        raise ConfigError("engine.event_workers", "must be at most 32 (each holds a database connection)")
    if not 1 <= s.dingtalk.batch_size <= 20:
        raise ConfigError("dingtalk.batch_size", "must be between 1 and 20 (DingTalk's per-call limit)")


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load settings from ``path`` (default: ./config.toml, else the example) plus environment."""
    env = dict(os.environ) if env is None else env
    if path is None:
        path = Path("config.toml") if Path("config.toml").exists() else EXAMPLE_CONFIG
    path = Path(path)
    settings = Settings(source=str(path))
    if not path.exists():
        raise ConfigError("--config", f"file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    apply_sections(settings, data)
    for var, (section, key) in ENV_OVERRIDES.items():
        if var in env and env[var] != "":
            target = getattr(settings, section)
            setattr(target, key, _coerce(var, env[var], getattr(target, key)))
    _validate(settings)
    return settings

