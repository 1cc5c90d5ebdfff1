"""Alibaba Cloud Certificate Management Service (CAS API 2020-04-07, instance flow)."""

from bot.ca.aliyun.backend import AliyunBackend
from bot.ca.aliyun.transport import AliyunError, Transport

__all__ = ["AliyunBackend", "AliyunError", "Transport"]
