"""DingTalk (钉钉) app robot in Stream mode. See docs/dingtalk.md."""

from bot.channels.dingtalk.channel import DingTalkChannel

__all__ = ["DingTalkChannel"]
