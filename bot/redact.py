"""Credential redaction: the one place every log line, stored error and CLI output passes through.

Two layers:
1. Patterns: any ``access_token=…``, ``corpsecret=…``, ``secret=…``, ``msg_signature=…``,
   ``signature=…``, ``sign=…``, ``ticket=…`` in URLs, ``"accessToken": "…"``, ``"appSecret": "…"``
   (and friends) in JSON bodies, the ``x-acs-dingtalk-access-token`` header and ``Bearer …`` values
   are replaced by ``***`` whatever their value (covers tokens WeCom/DingTalk issue at run time).
2. Known values: the configured secrets (WeCom Secret, Token, EncodingAESKey; DingTalk
   ClientSecret; the ingest token; the SMTP password) are registered by :func:`protect` and
   replaced wherever they appear, even in free text.

:func:`install` puts redaction into the log record factory, so it applies to every logger and
every handler (including pytest's capture), to the message, its arguments and any traceback.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings

MASK = "***"
_KEYS = (
    r"access_token|accessToken|access-token|corpsecret|corp_secret|secret|appSecret|app_secret|clientSecret|"
    r"client_secret|msg_signature|signature|sign|ticket|encoding_aes_key|EncodingAESKey|aes_key|password|"
    r"ingest_token|x-acs-dingtalk-access-token|suiteSecret|suite_secret"
)
# key=value in URLs / query strings / log text (value up to the next separator)
_QUERY = re.compile(rf"(?i)(?<![A-Za-z0-9_])({_KEYS})(=|%3D)([^&\s'\"<>,;)\]}}]+)")
# "key": "value" / 'key': 'value' in JSON or repr'd dicts
_JSON = re.compile(rf"(?i)([\"']({_KEYS})[\"']\s*:\s*)([\"'])((?:\\.|(?!\3).)*)\3")
# header lines "x-acs-dingtalk-access-token: value" and "Authorization: Bearer value"
_HEADER = re.compile(r"(?i)(x-acs-dingtalk-access-token\s*[:=]\s*)(\S+)")
_BEARER = re.compile(r"(?i)(Bearer\s+)([^\s'\",;]+)")

_known: set[str] = set()
_lock = threading.Lock()
_installed = False
MIN_SECRET_LEN = 6  # shorter values would mask ordinary words


def register(*values: str | None) -> None:
    """Add literal secret values to mask everywhere."""
    with _lock:
        for v in values:
            if v and len(v) >= MIN_SECRET_LEN:
                _known.add(v)


def protect(settings: Settings) -> None:
    """Register every configured credential and make sure logging redacts."""
    register(settings.wecom.secret, settings.wecom.token, settings.wecom.encoding_aes_key,
             settings.dingtalk.client_secret, settings.server.ingest_token, settings.smtp.password)
    install()


def redact(text: Any) -> str:
    """``text`` as a string with every credential replaced by ``***``."""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    for v in sorted(_known, key=len, reverse=True):
        if v in s:
            s = s.replace(v, MASK)
    s = _QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", s)
    s = _JSON.sub(lambda m: f"{m.group(1)}{m.group(3)}{MASK}{m.group(3)}", s)
    s = _HEADER.sub(lambda m: f"{m.group(1)}{MASK}", s)
    return _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", s)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the message (and traceback) of ``record`` once, redacted."""
    try:
        msg = record.getMessage()
    except Exception:  # a broken format string: keep what we have, redacted
        msg = f"{record.msg} {record.args}"
    record.msg, record.args = redact(msg), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
        record.exc_info = None  # formatters use exc_text; never re-render the raw traceback
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """For handlers created outside :func:`install` (belt and braces; idempotent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every log record at creation time (idempotent; wraps the current record factory)."""
    global _installed
    with _lock:
        if _installed:
            return
        base = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(base(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
