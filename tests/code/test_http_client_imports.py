"""The HTTP client under PTB must not search the disk for a module on every request."""

from __future__ import annotations

import asyncio
import sys

from httpcore._synchronization import current_async_library


class ImportWatch:
    """A meta-path finder that only notes which modules Python went looking for."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.searched.append(name)


def test_httpcore_finds_its_async_library_without_an_import_search():
    # httpcore runs `import sniffio` for each request (and more); installed, that is a sys.modules lookup.
    async def requests_worth() -> list[str]:
        return [current_async_library() for _ in range(10)]

    asyncio.run(requests_worth())  # the first call may import it
    watch = ImportWatch()
    sys.meta_path.insert(0, watch)
    try:
        assert asyncio.run(requests_worth()) == ["asyncio"] * 10
    finally:
        sys.meta_path.remove(watch)
    assert watch.searched == []
