"""The post-call survey (好差评): when the agent hangs up on a caller who stays on the line,
the caller is asked to rate the call with a key (RFC 4733 or SIP INFO), thanked and hung up.

The call itself ends for everyone else when the agent hangs up (`CallEnded`, the agent goes to
wrap-up, handle time stops there); only the caller's leg lives on here until the survey is
over. The rules (which keys count, how long to wait) are in telephony/survey_rules.py.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephony.announcements import OneMessage
from telephony.events import SurveyAnswered
from telephony.survey_rules import SurveyBallot, SurveyOutcome

if TYPE_CHECKING:
    from telephony.gateway import HotlineCall, Leg, SipGateway

log = logging.getLogger(__name__)

# After the thanks: a moment so the last syllable is not cut by the BYE.
THANKS_TAIL_SECONDS = 0.5


@dataclass(frozen=True)
class SurveyOptions:
    enabled: bool = False
    # Seconds after the prompt ends before a caller who pressed nothing is hung up (未评价).
    timeout_seconds: float = 8.0


@dataclass(eq=False)
class _Asking:
    """One caller being asked."""

    call_id: str
    leg: Leg
    ballot: SurveyBallot
    handles: list[asyncio.TimerHandle] = field(default_factory=list)

    def cancel_timers(self) -> None:
        for handle in self.handles:
            handle.cancel()
        self.handles.clear()


class PostCallSurveys:
    """The surveys of one gateway: which callers are being asked, and what they answered."""

    def __init__(self, gateway: SipGateway, options: SurveyOptions) -> None:
        self._gw = gateway
        self._options = options
        self._asking: dict[Leg, _Asking] = {}

    @property
    def active(self) -> int:
        return len(self._asking)

    def take_over(self, call: HotlineCall, agent_leg: Leg) -> bool:
        """The agent hung up: end the call for the agent and ask the caller, if the caller
        is still there to be asked. False when there is no survey to run (the call then ends
        as usual)."""
        gw = self._gw
        library = gw._caller_media.prompts
        caller = call.caller_leg
        if (
            not self._options.enabled
            or library is None
            or caller is None
            or caller.ended
            or caller.held  # a caller who put the call on hold would not hear the question
            or not call.started
            or agent_leg is not call.agent_leg
            or call.department_leg is not None  # transfers end their own way
            or call.ended
        ):
            return False
        gw._end_call(call, "agent-hangup", agent_leg, keep=caller)
        gw.session_timers.stop(caller)
        media = caller.media
        media.recorder = None  # the call's recording ended with the agent
        media.restart_digits()  # a key still held from the conversation is not an answer
        prompt = OneMessage(library.clip("survey"))
        loop = asyncio.get_running_loop()
        asking = _Asking(call.id, caller, SurveyBallot(loop.time(), prompt.seconds, self._timeout))
        self._asking[caller] = asking
        media.on_digit = lambda key: self._key(asking, key, "rfc4733")
        gw._media.play_programme(media, prompt)
        asking.handles.append(loop.call_at(asking.ballot.deadline, self._expire, asking))
        log.info("post-call survey started", extra={"call": call.id})
        return True

    @property
    def _timeout(self) -> float:
        return max(0.0, self._options.timeout_seconds)

    def info(self, leg: Leg, key: str) -> bool:
        """A key sent by SIP INFO in the caller's dialog; False outside a survey (the key is
        then the gateway's, as an RFC 4733 one would be)."""
        asking = self._asking.get(leg)
        if asking is None:
            return False
        self._key(asking, key, "info")
        return True

    def caller_left(self, leg: Leg) -> bool:
        """The caller's BYE: nothing is recorded. False if the leg was not being asked."""
        asking = self._asking.pop(leg, None)
        if asking is None:
            return False
        asking.cancel_timers()
        self._gw._close_leg(leg)
        log.info("caller left during the survey", extra={"call": asking.call_id})
        return True

    def stop(self) -> None:
        """Shutting down: every caller still being asked is hung up, nothing recorded."""
        for asking in list(self._asking.values()):
            self._hang_up(asking)

    def _key(self, asking: _Asking, key: str, via: str) -> None:
        loop = asyncio.get_running_loop()
        outcome = asking.ballot.press(key, loop.time())
        if outcome is None or asking.leg.ended:
            return
        asking.cancel_timers()
        self._answered(asking, outcome, key, via)
        library = self._gw._caller_media.prompts
        thanks = OneMessage(library.clip("survey_thanks") if library is not None else b"")
        self._gw._media.play_programme(asking.leg.media, thanks)
        asking.handles.append(
            loop.call_later(thanks.seconds + THANKS_TAIL_SECONDS, self._hang_up, asking)
        )

    def _expire(self, asking: _Asking) -> None:
        outcome = asking.ballot.expire(asyncio.get_running_loop().time())
        if outcome is None or asking.leg.ended:
            return
        self._answered(asking, outcome, None, None)
        self._hang_up(asking)

    def _answered(
        self, asking: _Asking, outcome: SurveyOutcome, key: str | None, via: str | None
    ) -> None:
        log.info("survey answered", extra={"call": asking.call_id, "outcome": outcome.value})
        self._gw._emit(SurveyAnswered(self._gw._clock(), asking.call_id, outcome, key, via))

    def _hang_up(self, asking: _Asking) -> None:
        asking.cancel_timers()
        self._asking.pop(asking.leg, None)
        if not asking.leg.ended:
            self._gw._hang_up_leg(asking.leg)
