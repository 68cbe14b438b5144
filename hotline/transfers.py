"""Who may transfer a call and where to: the checks behind POST /api/calls/{id}/transfer."""

from __future__ import annotations

from collections.abc import Mapping

from telephony.transfer import MODES, TransferError


def resolve_target(directory: Mapping[str, str], target: object) -> str:
    """The number for a target given by name or by a number in the directory."""
    if not isinstance(target, str) or not target.strip():
        raise TransferError("unknown-target", "target must be a name or number")
    target = target.strip()
    if target in directory:
        return directory[target]
    if target in directory.values():
        return target
    raise TransferError("unknown-target", f"{target} is not a transfer target")


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise TransferError("invalid-mode", "mode must be blind, three_way or attended")
    return str(mode)


def check_holder(call_agent: str | None, agent_id: str, lead: bool) -> None:
    """Only the agent on the call, or a shift lead, may transfer it."""
    if not lead and call_agent != agent_id:
        raise TransferError("forbidden", "only the agent on the call or a shift lead may")
