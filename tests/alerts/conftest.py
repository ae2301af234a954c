"""The platform rigs (DingTalk emulator + bot, WeCom emulator + bot), reused by the alert tests."""

from tests.dingtalk.conftest import bot_db_url, emu, make_bot  # noqa: F401
from tests.wecom.conftest import rig  # noqa: F401
