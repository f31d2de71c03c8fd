from __future__ import annotations

import platform
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from fastapi.testclient import TestClient

from app.main import ItemStore, app, get_store


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = ItemStore()
    app.dependency_overrides[get_store] = lambda: store
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_root_reports_name_and_version(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"name": "fastapi-app", "version": "0.1.0"}


def test_version_comes_from_installed_metadata(client: TestClient) -> None:
    response = client.get("/version")
    assert response.status_code == 200
    assert response.json() == {
        "name": "fastapi-app",
        "version": version("fastapi-app"),
        "python": platform.python_version(),
    }


def test_items_start_empty(client: TestClient) -> None:
    response = client.get("/items")
    assert response.status_code == 200
    assert response.json() == []


def test_create_then_get_and_list(client: TestClient) -> None:
    created = client.post("/items", json={"name": "  widget ", "price": 2.5, "tags": ["tools"]})
    assert created.status_code == 201
    assert created.json() == {"id": 1, "name": "widget", "price": 2.5, "tags": ["tools"]}
    assert created.headers["location"] == "/items/1"

    second = client.post("/items", json={"name": "gadget", "price": 10})
    assert second.json()["id"] == 2

    fetched = client.get("/items/1")
    assert fetched.status_code == 200
    assert fetched.json() == created.json()

    listed = client.get("/items")
    assert [item["id"] for item in listed.json()] == [1, 2]
    assert [item["id"] for item in client.get("/items", params={"offset": 1}).json()] == [2]
    assert [item["id"] for item in client.get("/items", params={"limit": 1}).json()] == [1]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "", "price": 1},
        {"name": "widget", "price": 0},
        {"name": "widget", "price": "cheap"},
        {"name": "widget", "price": 1, "colour": "red"},
    ],
)
def test_create_rejects_invalid_bodies(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/items", json=body)
    assert response.status_code == 422
    assert client.get("/items").json() == []


def test_unknown_item_is_404(client: TestClient) -> None:
    response = client.get("/items/42")
    assert response.status_code == 404
    assert response.json() == {"detail": "item 42 not found"}


def test_bad_query_parameters_are_422(client: TestClient) -> None:
    assert client.get("/items", params={"limit": 0}).status_code == 422
    assert client.get("/items/not-a-number").status_code == 422
