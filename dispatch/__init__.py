"""Forwarding saved cases to the city's dispatch core (数字城管平台) through the outbox."""

from dispatch.sender import OutboxSender, sign_body

__all__ = ["OutboxSender", "sign_body"]
