"""HTTP API of fastapi-app.

Run it with ``uvicorn app.main:app --host 0.0.0.0 --port 8000``; the bind
address and port are uvicorn's command-line options, not settings of the app.
"""

from __future__ import annotations

import platform
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app import DIST_NAME, __version__

__all__ = ["Item", "ItemCreate", "ItemStore", "app", "get_store"]


class ItemCreate(BaseModel):
    """The body of ``POST /items``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    price: float = Field(gt=0, description="Unit price; must be positive.")
    tags: list[str] = Field(default_factory=list, max_length=10)


class Item(ItemCreate):
    """A stored item, as returned by the API."""

    id: int


class Health(BaseModel):
    status: str


class AppInfo(BaseModel):
    name: str
    version: str


class VersionInfo(AppInfo):
    python: str


class ItemStore:
    """Items kept in process memory; ids are assigned sequentially from 1.

    All endpoints are ``async`` and the store never awaits, so every access
    happens on the event loop thread and needs no lock.
    """

    def __init__(self) -> None:
        self._items: dict[int, Item] = {}
        self._next_id = 1

    def add(self, data: ItemCreate) -> Item:
        item = Item(id=self._next_id, **data.model_dump())
        self._items[item.id] = item
        self._next_id += 1
        return item

    def get(self, item_id: int) -> Item | None:
        return self._items.get(item_id)

    def list(self, *, offset: int = 0, limit: int | None = None) -> list[Item]:
        items = list(self._items.values())[offset:]
        return items if limit is None else items[:limit]


_store = ItemStore()


def get_store() -> ItemStore:
    """Dependency giving the process-wide store (tests override it)."""
    return _store


Store = Annotated[ItemStore, Depends(get_store)]

app = FastAPI(
    title=DIST_NAME,
    version=__version__,
    summary="An in-memory items API: the uvdock example service.",
)


@app.get("/", response_model=AppInfo)
async def root() -> AppInfo:
    return AppInfo(name=DIST_NAME, version=__version__)


@app.get("/health", response_model=Health)
async def health() -> Health:
    return Health(status="ok")


@app.get("/version", response_model=VersionInfo)
async def version_info() -> VersionInfo:
    """The installed distribution's version and the interpreter running it."""
    return VersionInfo(name=DIST_NAME, version=__version__, python=platform.python_version())


@app.get("/items", response_model=list[Item])
async def list_items(
    store: Store,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[Item]:
    return store.list(offset=offset, limit=limit)


@app.post("/items", response_model=Item, status_code=status.HTTP_201_CREATED)
async def create_item(data: ItemCreate, store: Store, response: Response) -> Item:
    item = store.add(data)
    response.headers["Location"] = app.url_path_for("get_item", item_id=str(item.id))
    return item


@app.get("/items/{item_id}", response_model=Item)
async def get_item(item_id: int, store: Store) -> Item:
    item = store.get(item_id)
    if item is None:
        detail = f"item {item_id} not found"
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)
    return item
