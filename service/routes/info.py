"""What the service scores with: the model card, the policy table and the scenarios."""

from __future__ import annotations

from fastapi import APIRouter

from service.openapi import NO_BODY_RESPONSES
from service.schemas import ModelCard, PolicyResponse, ScenarioItem, ScenariosResponse
from service.state import ModelDep

router = APIRouter(prefix="/v1", tags=["model"])


@router.get(
    "/model", summary="The model card", response_model=ModelCard, responses=NO_BODY_RESPONSES
)
async def model_card(serving: ModelDep) -> ModelCard:
    """Return the model being served: version, features, term tables, metrics, training data."""
    model = serving.scorer.model
    document = model.file.model_dump(mode="json")
    return ModelCard(
        name=document["name"],
        version=document["version"],
        sha256=document["sha256"],
        description=document["description"],
        format_version=document["format_version"],
        loaded_at=serving.loaded_at.isoformat(timespec="seconds"),
        features=document["features"],
        intercept=document["intercept"],
        baseline_probability=model.baseline_probability,
        terms=document["terms"],
        bands=document["bands"],
        metrics=document["metrics"],
        training=document["training"],
        reference_versions=document["reference_versions"],
    )


@router.get(
    "/policy",
    summary="The policy table",
    response_model=PolicyResponse,
    responses=NO_BODY_RESPONSES,
)
async def policy(serving: ModelDep) -> PolicyResponse:
    """Return the dated policy table in use and its version."""
    table = serving.scorer.reference.policy
    return PolicyResponse(version=table.version, table=table.model_dump(mode="json", by_alias=True))


@router.get(
    "/scenarios",
    summary="The what-if scenarios",
    response_model=ScenariosResponse,
    responses=NO_BODY_RESPONSES,
)
async def scenarios(serving: ModelDep) -> ScenariosResponse:
    """Return the named scenarios; pass one as ?scenario=NAME to any scoring endpoint."""
    scorer = serving.scorer
    book = scorer.scenarios
    return ScenariosResponse(
        version=book.version,
        scenarios=[
            ScenarioItem(
                name=s.name,
                title=s.title,
                description=s.description,
                policy_version=scorer.reference_for(s.name).policy.version,
            )
            for s in book.scenarios.values()
        ],
    )
