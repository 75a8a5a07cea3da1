"""One contract suite per state Protocol, each run against memory and a real Redis.

Every store is built by the factory (:func:`scalegate.state.stores.stores_from_url`), so the
suites also prove it. Each Redis variant also has an outage case on a dedicated
``redis-server`` (stopped mid-test, then restarted on the same port): every operation must
raise :class:`~scalegate.errors.StateBackendError` within a bound, and the same store object
must work again once Redis is back.
"""
