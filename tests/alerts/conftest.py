"""The DingTalk rig (emulator + a bot on it), reused by the alert tests."""

from tests.dingtalk.conftest import emu, make_bot  # noqa: F401
