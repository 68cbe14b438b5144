"""Reports a centre hands to the city: the seeds' 绩效 indicators over calls and cases.

Pure: every indicator is defined once, as a function of typed rows (or of the additive tallies
they sum to), and takes the moment it is computed at; queries, files and charts are adapters.
"""

from reports.calls import CallOptions, CallOutcome, CallRow, CallTally, outcome, tally_calls
from reports.cases import CaseOptions, CaseRow, CaseTally, Satisfaction, tally_cases
from reports.indicators import Change, Indicator, Unit
from reports.periods import Period, PeriodError, PeriodKind
from reports.report import Breakdown, Figures, Labels, Line, Report, build_report
from reports.sums import CallSums, sum_calls

__all__ = [
    "Breakdown",
    "CallOptions",
    "CallOutcome",
    "CallRow",
    "CallSums",
    "CallTally",
    "CaseOptions",
    "CaseRow",
    "CaseTally",
    "Change",
    "Figures",
    "Indicator",
    "Labels",
    "Line",
    "Period",
    "PeriodError",
    "PeriodKind",
    "Report",
    "Satisfaction",
    "Unit",
    "build_report",
    "outcome",
    "sum_calls",
    "tally_calls",
    "tally_cases",
]
