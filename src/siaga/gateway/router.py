"""HTTP for device gateways: POST /api/v1/gateway/alerts with an API key that has the scope alerts:raise."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from siaga.deps import ClientIP, DeviceGateway, RuntimeDep
from siaga.gateway import service
from siaga.gateway.schemas import GatewayAlarm, GatewayAlarmRead
from siaga.schemas import error_responses

router = APIRouter(prefix="/gateway", tags=["gateway"])


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": GatewayAlarmRead, "description": "Counted on the site's open alert, or received before"},
        **error_responses(401, 403, 404, 422),
    },
)
async def raise_alarm(
    body: GatewayAlarm, gateway: DeviceGateway, runtime: RuntimeDep, ip: ClientIP, response: Response
) -> GatewayAlarmRead:
    """A device gateway's button was pressed: raise the site's alert (channel ``gateway``), stored before this
    answers 201. The device is named as registered in Siaga, and must belong to the key's agency or one below it.
    A press while the site's alert is open is counted on it, and the same event id again is the same press: both
    answer 200 with that alert. The key's requests here count toward its rate
    but are never refused for it: an alarm is never held back."""
    raised = await service.raise_alarm(runtime, gateway=gateway, alarm=body, client_ip=ip)
    if raised.status != "received":
        response.status_code = status.HTTP_200_OK
    return GatewayAlarmRead(alert_id=raised.alert_id, status=raised.status)
