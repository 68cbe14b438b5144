"""The deadline policy of the `cases` core, built from `[cases]` and the centre's timezone."""

from __future__ import annotations

from cases import DeadlinePolicy, WorkingCalendar
from cases.deadlines import category_limits
from hotline.config import ConfigError, HotlineConfig


def deadline_policy(config: HotlineConfig) -> DeadlinePolicy:
    """The centre's time limits; a bad `[cases]` value is a ConfigError naming it."""
    cases = config.cases
    try:
        categories = category_limits(cases.category_limits)
    except ValueError as error:
        raise ConfigError(f"[cases] category_limits: {error}") from None
    for name in ("consult_working_days", "general_working_days", "visit_attempts"):
        if getattr(cases, name) < 1:
            raise ConfigError(f"[cases] {name} must be at least 1")
    if not 0 <= cases.remind_working_days_before <= 5:
        # The scheduler looks 16 days ahead: five working days fit even across Spring Festival.
        raise ConfigError("[cases] remind_working_days_before must be 0 to 5")
    if not 0 < cases.remind_share < 1:
        raise ConfigError("[cases] remind_share must be between 0 and 1")
    return DeadlinePolicy(
        WorkingCalendar(config.centre.timezone),
        forward_minutes=cases.forward_minutes,
        urgent_hours=cases.urgent_hours,
        consult_working_days=cases.consult_working_days,
        general_working_days=cases.general_working_days,
        return_working_days=cases.return_working_days,
        categories=categories,
        max_extensions=cases.max_extensions,
        max_extension_working_days=cases.max_extension_working_days,
        remind_working_days_before=cases.remind_working_days_before,
        remind_share=cases.remind_share,
        visit_working_days=cases.visit_working_days,
        visit_attempts=cases.visit_attempts,
        visit_retry_minutes=cases.visit_retry_minutes,
    )
