"""The KeyRegistry contract (scalegate.keys.registry) on memory and a real Redis."""

from __future__ import annotations

from typing import Any

from scalegate.config import KeyConfig
from scalegate.keys.model import fingerprint
from scalegate.keys.registry import KeyRegistry, MemoryKeyRegistry, RedisKeyRegistry
from scalegate.state.stores import MemoryStores, RedisStores
from tests.contracts.outage import Outage, all_succeed

Stores = MemoryStores | RedisStores


def config(secret: str, **kw: Any) -> KeyConfig:
    return KeyConfig.model_validate({"secret": secret, **kw})


A = config(
    "sk-contract-alpha-0123456789abcdef",
    name="alpha",
    weight=2.0,
    limits={"rpm": 50, "itpm": 40_000},
)
B = config("sk-contract-bravo-0123456789abcdef")


def same(x: KeyConfig, y: KeyConfig) -> bool:
    """Equal as configuration, the secret included (SecretStr hides it from ``==``'s repr)."""
    return x.secret.get_secret_value() == y.secret.get_secret_value() and x.model_dump(
        exclude={"secret"}
    ) == y.model_dump(exclude={"secret"})


async def test_the_factory_builds_the_backends_registry(stores: Stores) -> None:
    registry = stores.key_registry()
    expected = RedisKeyRegistry if isinstance(stores, RedisStores) else MemoryKeyRegistry
    assert type(registry) is expected


async def test_add_remove_and_generation(stores: Stores) -> None:
    registry: KeyRegistry = stores.key_registry()
    assert (await registry.generation(), await registry.added(), await registry.removed()) == (
        0,
        {},
        set(),
    )
    fa = await registry.add(A)
    assert fa == fingerprint(A.secret.get_secret_value(), "alpha")
    fb = await registry.add(B)
    assert await registry.generation() == 2
    added = await registry.added()
    assert sorted(added) == sorted([fa, fb])
    assert same(added[fa], A)
    assert same(added[fb], B)
    await registry.remove(fa)
    assert await registry.generation() == 3
    assert list(await registry.added()) == [fb]
    assert await registry.removed() == {fa}


async def test_a_removed_key_comes_back_when_added(stores: Stores) -> None:
    registry = stores.key_registry()
    fa = await registry.add(A)
    await registry.remove(fa)
    assert await registry.add(A) == fa
    assert await registry.removed() == set()
    assert list(await registry.added()) == [fa]
    assert await registry.generation() == 3


async def test_removing_a_key_never_added_records_it(stores: Stores) -> None:
    """Keys of the configuration file are removed by fingerprint: the registry notes it."""
    registry = stores.key_registry()
    await registry.remove("key-0badc0de")
    await registry.remove("key-0badc0de")
    assert await registry.removed() == {"key-0badc0de"}
    assert await registry.added() == {}
    assert await registry.generation() == 2  # every change bumps it, so replicas look


async def test_adding_again_replaces_the_configuration(stores: Stores) -> None:
    registry = stores.key_registry()
    fa = await registry.add(A)
    changed = config(A.secret.get_secret_value(), name="alpha", limits={"rpm": 5})
    assert await registry.add(changed) == fa
    added = await registry.added()
    assert len(added) == 1
    assert added[fa].limits.rpm == 5


async def test_outage_raises_typed_errors_promptly_then_recovers(outage: Outage) -> None:
    registry = outage.stores.key_registry()
    fa = await registry.add(A)
    outage.stop()
    await outage.expect_down(
        {
            "generation": registry.generation,
            "added": registry.added,
            "removed": registry.removed,
            "add": lambda: registry.add(B),
            "remove": lambda: registry.remove(fa),
        }
    )
    outage.restart()  # an empty Redis; the same object works again
    await all_succeed([("generation", registry.generation)])
    assert await registry.generation() == 0
    assert await registry.add(B) == fingerprint(B.secret.get_secret_value())
    assert await registry.generation() == 1
