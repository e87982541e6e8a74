"""The worker's webhook step: send the deliveries that are due, a few per turn.

A few per turn, so that a receiver that answers slowly (up to `delivery.TIMEOUT` seconds each)
holds up the mail step of the same worker by a bounded time.
"""

from __future__ import annotations

from courses import clock
from courses.api.delivery import deliver_due_webhooks

#: Deliveries sent per worker turn.
BATCH = 5


class WebhookDeliveries:
    name = "webhooks"

    def run(self, worker) -> bool:
        counts = deliver_due_webhooks(clock.now(), BATCH, stopping=lambda: worker.stopping)
        return sum(counts.values()) >= BATCH
