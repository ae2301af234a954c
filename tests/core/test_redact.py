"""Credentials never show in log lines, stored errors or CLI output (the one redaction point)."""

from __future__ import annotations

import logging

from bot import redact


def test_tokens_and_secrets_in_urls_bodies_and_headers_are_masked():
    redact.register("my-corp-secret-123")
    samples = [
        "502, message='Bad Gateway', url='http://127.0.0.1:1/cgi-bin/message/send?access_token=AbC-123_xyz'",
        "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=my-corp-secret-123 failed",
        '{"appKey": "k", "appSecret": "dt-secret-value"}',
        "{'accessToken': 'dt-token-value', 'expireIn': 7200}",
        "headers: x-acs-dingtalk-access-token: dt-token-value",
        "Authorization: Bearer ingest-tok-9",
        "?msg_signature=abcdef0123&timestamp=1&nonce=2",
        "ws://127.0.0.1:9/connect?ticket=t-1%2B2",
        "plain text mentioning my-corp-secret-123 somewhere",
    ]
    out = "\n".join(redact.redact(s) for s in samples)
    for secret in ("AbC-123_xyz", "my-corp-secret-123", "dt-secret-value", "dt-token-value", "ingest-tok-9",
                   "abcdef0123", "t-1%2B2"):
        assert secret not in out
    assert "corpid=ww1" in out and "expireIn" in out and "timestamp=1" in out


def test_log_records_and_tracebacks_are_redacted(caplog):
    redact.install()
    log = logging.getLogger("perfbot.test")
    try:
        raise RuntimeError("call to https://x/cgi-bin/message/send?access_token=SEKRIT-TOKEN-1 failed")
    except RuntimeError:
        log.exception("send failed for %s", "https://x/y?corpsecret=SEKRIT-SECRET-2")
    text = caplog.text
    assert "SEKRIT" not in text and "send failed" in text and "RuntimeError" in text
