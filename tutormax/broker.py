"""The Redis broker transport, with a workaround that keeps workers alive through a Redis restart.

Root cause (celery 5.7.0 + kombu 5.7.0): when the broker connection breaks, celery's
consumer (`Consumer.on_connection_error_after_connected`) first calls
`connection.collect()`, which detaches the transport from its kombu Connection
(`transport.client = None`), and then `connection.close()`. Closing the default
channel restores its unacknowledged messages (`QoS.restore_unacked_once`); the
Redis channel's connection pool was already disconnected, so it builds a new one
from `_connparams()`, which reads `self.connection.client.hostname`: an
AttributeError (`'NoneType' object has no attribute 'hostname'`) that is not a
connection error, escapes `ignore_errors`, and ends the worker with
"Unrecoverable error". The same `conn_or_acquire` path as celery/kombu#582 and #970.

The channel below keeps the broker's connection info from its creation, so the
restore gets a real pool: it pushes the messages back when Redis is up again, or
fails with a connection error that the consumer ignores before it reconnects.
Selected in celeryconfig.py (`broker_transport`) for `redis://` broker URLs.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    """A Redis channel that still knows its broker after celery detached the transport."""

    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        self._broker_info = connection.client
        super().__init__(connection, *args, **kwargs)

    def _connparams(self, asynchronous: bool = False) -> dict:
        transport = self.connection
        if transport.client is not None or self._broker_info is None:
            return super()._connparams(asynchronous=asynchronous)
        # Detached by Connection.collect(): lend the transport its old connection info
        # for this one call (kombu reads it there, nowhere else on this path).
        transport.client = self._broker_info
        try:
            return super()._connparams(asynchronous=asynchronous)
        finally:
            transport.client = None


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the channel above."""

    Channel = Channel
