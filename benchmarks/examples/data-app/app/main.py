"""HTTP API of data-app.

Run it with ``uvicorn app.main:app --host 0.0.0.0 --port 8000``. At import, it creates an
in-memory SQLite database with SQLAlchemy and seeds it with generated sensor readings;
``/stats`` reads them back into pandas and summarises them with numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import FastAPI
from sqlalchemy import Engine, Float, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

__all__ = ["Reading", "app", "engine"]

SENSORS = ("north", "south", "east", "west")
READINGS_PER_SENSOR = 250
SEED = 42


class Base(DeclarativeBase):
    pass


class Reading(Base):
    __tablename__ = "readings"

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor: Mapped[str] = mapped_column(String(20), index=True)
    value: Mapped[float] = mapped_column(Float)


def create_database() -> Engine:
    """An in-memory SQLite database, shared by all threads, seeded with readings."""
    db = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    Base.metadata.create_all(db)
    rng = np.random.default_rng(SEED)
    with Session(db) as session:
        for offset, sensor in enumerate(SENSORS):
            values = rng.normal(loc=20.0 + offset, scale=1.5, size=READINGS_PER_SENSOR)
            session.add_all(Reading(sensor=sensor, value=float(v)) for v in values)
        session.commit()
    return db


engine = create_database()

app = FastAPI(title="data-app", summary="Sensor statistics with pandas and SQLAlchemy.")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readings")
def readings(limit: int = 10) -> list[dict[str, object]]:
    """The first ``limit`` stored readings."""
    with Session(engine) as session:
        rows = session.scalars(select(Reading).order_by(Reading.id).limit(limit))
        return [{"id": r.id, "sensor": r.sensor, "value": r.value} for r in rows]


@app.get("/stats")
def stats() -> dict[str, dict[str, float]]:
    """Per-sensor count, mean, standard deviation and 95th percentile of the readings."""
    with engine.connect() as conn:
        frame = pd.read_sql(select(Reading.sensor, Reading.value), conn)
    summary: dict[str, dict[str, float]] = {}
    for sensor, group in frame.groupby("sensor"):
        values = group["value"].to_numpy()
        summary[str(sensor)] = {
            "count": float(values.size),
            "mean": round(float(np.mean(values)), 3),
            "std": round(float(np.std(values, ddof=1)), 3),
            "p95": round(float(np.percentile(values, 95)), 3),
        }
    return summary
