"""chat/messaging/bus.py against real brokers of the test's own (nats-server, redis-server on free loopback ports):
what one node publishes reaches the others in order, and when the broker is killed and started again each bus
says it lost the connection, reconnects by itself and carries notices again."""
from __future__ import annotations

import pytest

from chat.messaging.bus import Bus, open_bus
from tests.conftest import free_port
from tests.nodes import Broker, wait_for


async def until(predicate, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    return await wait_for(predicate, seconds)


@pytest.mark.parametrize("kind", ["nats", "redis"])
async def test_notices_flow_in_order_and_again_after_the_broker_restarts(kind, tmp_path):
    broker = Broker(kind, free_port(), tmp_path / f"{kind}.log")
    broker.start()
    buses: list[Bus] = [open_bus(broker.url, "samtal.test") for _ in range(2)]
    heard: list[bytes] = []
    states: list[bool] = []
    try:
        await buses[0].start(lambda data: None, lambda up: None)
        await buses[1].start(heard.append, states.append)
        assert await until(lambda: all(bus.connected for bus in buses))
        for i in range(200):
            buses[0].publish(b"%d" % i)
        assert await until(lambda: len(heard) == 200)
        assert heard == [b"%d" % i for i in range(200)]

        broker.stop()
        assert await until(lambda: not buses[1].connected)
        broker.start()
        assert await until(lambda: all(bus.connected for bus in buses))
        heard.clear()
        buses[0].publish(b"after")
        assert await until(lambda: b"after" in heard)
        assert states == [True, False, True]
    finally:
        for bus in buses:
            await bus.stop()
        broker.stop()
