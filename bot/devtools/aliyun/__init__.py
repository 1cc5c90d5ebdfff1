"""A local stand-in of Alibaba Cloud's Certificate Management Service API (tests and demo only)."""

from bot.devtools.aliyun.server import CasStandIn

__all__ = ["CasStandIn"]
