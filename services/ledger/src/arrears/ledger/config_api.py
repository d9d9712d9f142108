"""Company configuration kept by the ledger, and the runs over many customers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.ledger import jobs, store
from arrears.ledger.api import ledger_of
from arrears.ledger.domain.letters import LetterSequence
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId
from arrears.shared.inputs import Day
from arrears.shared.service import ServiceContext

router = APIRouter(prefix="/v1", tags=["configuration and runs"])


class LetterSequences:
    """Letter sequences per company, stored in the ledger's schema."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, company: str, sequence_id: str) -> LetterSequence:
        async with self.engine.connect() as conn:
            found = await store.get_letter_sequence(conn, company, sequence_id)
        if found is None:
            raise Problem(
                404, "unknown_letter_sequence", f"no letter sequence {sequence_id} in {company}"
            )
        return LetterSequence.model_validate(found)


@router.put(
    "/companies/{company}/letter-sequences/{sequence_id}", summary="Define a letter sequence"
)
async def put_letter_sequence(
    request: Request, company: CompanyId, sequence_id: str, sequence: LetterSequence
) -> dict[str, Any]:
    if sequence.id != sequence_id:
        raise Problem(422, "id_mismatch", "the body's id must equal the path's sequence_id")
    ctx: ServiceContext = request.app.state.ctx
    document: dict[str, Any] = sequence.model_dump(mode="json")
    async with ctx.engine.begin() as conn:
        await store.put_letter_sequence(conn, company, sequence_id, document, ctx.clock.now())
    return document


@router.get("/companies/{company}/letter-sequences", summary="List letter sequences")
async def list_letter_sequences(request: Request, company: CompanyId) -> list[dict[str, Any]]:
    ctx: ServiceContext = request.app.state.ctx
    async with ctx.engine.connect() as conn:
        return await store.list_letter_sequences(conn, company)


class LetterRun(BaseModel):
    as_of: Day = Field(description="The date letters are created for.")
    letter_sequence_id: str = Field(min_length=1, description="The sequence to apply.")


@router.post("/companies/{company}/collection-letter-runs", summary="Create collection letters")
async def collection_letter_run(
    request: Request,
    company: CompanyId,
    run: LetterRun,
    actor: Annotated[str, Header(alias="X-Arrears-Actor")] = "api",
) -> dict[str, Any]:
    sequences: LetterSequences = request.app.state.ctx.extras["letter_sequences"]
    sequence = await sequences.get(company, run.letter_sequence_id)
    summary = await jobs.collection_letter_run(
        ledger_of(request), company, sequence, run.as_of, actor=actor
    )
    return summary.as_dict()


class Rollover(BaseModel):
    as_of: Day = Field(description="Judge promises due before this date.")


@router.post("/jobs/promise-rollover", summary="Judge every due promise to pay")
async def promise_rollover(
    request: Request,
    run: Annotated[Rollover, Body()],
    actor: Annotated[str, Header(alias="X-Arrears-Actor")] = "api",
) -> dict[str, Any]:
    summary = await jobs.promise_rollover(ledger_of(request), run.as_of, actor=actor)
    return summary.as_dict()
