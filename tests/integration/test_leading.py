"""`leading`: of the instances sharing a database, one at a time holds a role."""

from __future__ import annotations

import pytest

from arrears.shared.db import create_engine, leading
from arrears.shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def test_one_instance_leads_a_role_and_another_takes_it_over(
    settings: ServiceSettings,
) -> None:
    first, second = (create_engine(settings.database_url, settings.schema_name) for _ in "12")
    role = f"{settings.schema_name}.outbox"
    try:
        async with leading(first, role) as leader:
            assert leader
            async with leading(second, role) as other:
                assert not other  # held by the first
            async with leading(second, f"{settings.schema_name}.rollover") as unrelated:
                assert unrelated  # another role is free
        async with leading(second, role) as successor:
            assert successor  # released when the first's body ended
    finally:
        await first.dispose()
        await second.dispose()
