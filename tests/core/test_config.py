from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import REPO


def write(tmp_path, body: str):
    p = tmp_path / "c.toml"
    p.write_text(body, encoding="utf-8")
    return p


def test_example_config_loads_with_documented_defaults():
    s = load_settings(REPO / "config.example.toml", env={})
    assert s.storage.url == "sqlite:///perfbot.db"
    assert s.wecom.api_base == "https://qyapi.weixin.qq.com/cgi-bin"
    assert s.dingtalk.openapi_base == "https://api.dingtalk.com"
    assert s.schedule.timezone == "Asia/Shanghai"
    assert s.policy.max_adjustment_percent == 10.0
    assert not s.wecom.enabled and not s.dingtalk.enabled


def test_every_example_key_is_commented():
    lines = (REPO / "config.example.toml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            prev = lines[i - 1].strip() if i else ""
            assert "#" in line or prev.startswith("#"), f"undocumented key: {line}"


def test_environment_overrides_secrets(tmp_path):
    p = write(tmp_path, '[wecom]\ncorp_id = "ww1"\nagent_id = 1000002\ntoken = "t"\n'
                       'encoding_aes_key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"\n')
    s = load_settings(p, env={"PERFBOT_WECOM_SECRET": "from-env", "PERFBOT_STORAGE_URL": "sqlite:///x.db"})
    assert s.wecom.secret == "from-env"
    assert s.wecom.enabled
    assert s.storage.url == "sqlite:///x.db"


@pytest.mark.parametrize(
    "body, key",
    [
        ("[server]\nport = 'eighty'\n", "server.port"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[schedule]\ntimezone = 'Mars/Base'\n", "schedule.timezone"),
        ("[wecom]\nencoding_aes_key = 'short'\n", "wecom.encoding_aes_key"),
        ("[policy]\nmax_adjustment_percent = 0\n", "policy.max_adjustment_percent"),
        ("[policy]\nvisit_tags = 'a,b'\n", "policy.visit_tags"),
        ("[storage]\nurl = 'mysql://x'\n", "storage.url"),
        ("[nope]\na = 1\n", "nope"),
        ("[server]\nprot = 1\n", "server.prot"),
        ("[schedule]\ncheckin_cron = '16:00 friday'\n", "schedule.checkin_cron"),
        ("[dingtalk]\nbatch_size = 50\n", "dingtalk.batch_size"),
        ("[retention]\noutbox_days = 7\n", "retention.outbox_days"),
        ("[server]\nstall_log_ms = 10\n", "server.stall_log_ms"),
    ],
)
def test_invalid_config_names_the_key(tmp_path, body, key):
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, body), env={})
    assert exc.value.key == key


def test_invalid_config_exits_2_with_one_readable_line(tmp_path):
    p = write(tmp_path, "[server]\nport = 'x'\n")
    r = subprocess.run([sys.executable, "-m", "bot", "--config", str(p), "jobs", "list"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == "config error: server.port: expected an integer, got 'x'"


def test_broken_toml_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[server\n"), env={})


@pytest.mark.parametrize("body,key", [
    ("[schedule]\nmisfire_grace_hours = 0\n", "schedule.misfire_grace_hours"),
    ("[outbox]\npark_after_hours = 0\n", "outbox.park_after_hours"),
    ("[wecom]\nmax_users_per_call = 1001\n", "wecom.max_users_per_call"),
    ("[dingtalk]\napp_qps = 0\n", "dingtalk.app_qps"),
])
def test_values_that_would_break_at_run_time_are_refused_at_load(tmp_path, body, key):
    with pytest.raises(ConfigError) as exc:
        load_settings(write(tmp_path, body), env={})
    assert exc.value.key == key
