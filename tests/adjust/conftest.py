"""The platform rigs of the WeCom and DingTalk tests, reused for the adjustment tests on each platform."""

from tests.dingtalk.conftest import bot_db_url, emu, make_bot  # noqa: F401
from tests.wecom.conftest import rig  # noqa: F401
