"""WeCom (企业微信) self-built app: callbacks in, REST API out. See docs/wecom.md."""

from bot.channels.wecom.channel import WeComChannel

__all__ = ["WeComChannel"]
