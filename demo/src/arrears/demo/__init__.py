"""Demo data: a realistic, deterministic receivables history, written by the ledger itself.

One module per concern:

- `vocabulary`: countries, names, trades, goods, dispute reasons;
- `customers`: who the customers are, their payment behaviours and traits;
- `plan`: the plan's data (commands, batches, the letter sequence);
- `simulation`: the books of the simulated history and a customer's day on the ledger's
  domain;
- `behaviours`: what a customer means to do with a new invoice;
- the routines: `erp` (postings), `bank` (payments, NSF), `agents` (calls, promises,
  disputes, fees, letters), `system` (promise rollover, letter run, month-end write-off),
  and `stories` (changes over months, a default, fixed moments near the end);
- `planner`: `plan_days` and `plan_demo`, the routines day by day (pure);
- `execution`: `generate` and `execute_plan`, the plan through the ledger's bulk path, each
  day written while the next is decided.

The same seed gives the same facts (types, customers, dates, amounts, texts); only the ids
the ledger assigns differ. `arrears demo` is the command line; docs/api.md describes it.
"""

from arrears.demo.customers import AGENTS, XSS_CUSTOMER_NAME, Behaviour, CustomerSpec
from arrears.demo.execution import (
    DemoConflict,
    DemoError,
    DemoSummary,
    Progress,
    Written,
    execute_plan,
    generate,
)
from arrears.demo.plan import (
    LETTER_SEQUENCE,
    PROMISED_EVENT_TYPES,
    Batch,
    DemoPlan,
    PlanError,
    PlannedCommand,
    Scenario,
)
from arrears.demo.planner import plan_days, plan_demo
from arrears.demo.stories import XSS_MEMO

__all__ = [
    "AGENTS",
    "LETTER_SEQUENCE",
    "PROMISED_EVENT_TYPES",
    "XSS_CUSTOMER_NAME",
    "XSS_MEMO",
    "Batch",
    "Behaviour",
    "CustomerSpec",
    "DemoConflict",
    "DemoError",
    "DemoPlan",
    "DemoSummary",
    "PlanError",
    "PlannedCommand",
    "Progress",
    "Scenario",
    "Written",
    "execute_plan",
    "generate",
    "plan_days",
    "plan_demo",
]
