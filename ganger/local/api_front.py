"""An HTTP front for the REST APIs deployed in moto, calling their Lambda proxy integrations.

moto stores API Gateway REST APIs (v1) but does not route HTTP traffic to Lambda code. Requests
are served as ``/{stage}/{path}`` or ``/{path}`` (the route's first stage assumed); see
``ganger.local.api_routes``. Unknown routes answer 403 ``Missing Authentication Token`` as API
Gateway does; a function error or malformed proxy result answers 502.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.local.api_routes import (
    Route,
    RouteTable,
    build_proxy_event,
    http_response_from_proxy,
    iam_caller,
    internal_error,
    missing_route,
)
from ganger.local.http_server import LOOPBACK, BackgroundHttpServer, HttpRequest, HttpResponse

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_lambda import LambdaClient

logger = logging.getLogger(__name__)


class ApiFront:
    """Serves the deployed REST APIs on 127.0.0.1.

    Args:
        apigateway_client: boto3 ``apigateway`` client (moto), read by ``refresh``.
        lambda_client: boto3 Lambda client that runs functions (the local Lambda endpoint).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
    """

    def __init__(
        self, apigateway_client: APIGatewayClient, lambda_client: LambdaClient, *, host: str = LOOPBACK, port: int = 0
    ) -> None:
        self._apigateway = apigateway_client
        self._lambda = lambda_client
        self._server = BackgroundHttpServer(self.handle, host=host, port=port, name="api")
        self._table = RouteTable(())
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL of the front."""
        return self._server.url

    @property
    def routes(self) -> tuple[Route, ...]:
        """Routes loaded by the last ``refresh``."""
        return self._table.routes

    def url_for(self, path: str, stage: str | None = None) -> str:
        """Full URL of ``path``, under ``stage`` when given."""
        prefix = f"/{stage}" if stage else ""
        return f"{self.url}{prefix}/{path.lstrip('/')}"

    def start(self) -> None:
        """Load the routes and start serving."""
        self.refresh()
        self._server.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()

    def refresh(self) -> tuple[Route, ...]:
        """Re-read every REST API, its stages, resources, methods and integrations from moto."""
        routes: list[Route] = []
        for page in self._apigateway.get_paginator("get_rest_apis").paginate():
            for api in page.get("items", []):
                routes.extend(self._load_api(api))
        table = RouteTable(routes)
        with self._lock:
            self._table = table
        logger.info("API front loaded %d routes", len(routes))
        return table.routes

    def _load_api(self, api: dict[str, Any]) -> list[Route]:
        stages = tuple(s["stageName"] for s in self._apigateway.get_stages(restApiId=api["id"]).get("item", []))
        routes: list[Route] = []
        paginator = self._apigateway.get_paginator("get_resources")
        for page in paginator.paginate(restApiId=api["id"], embed=["methods"]):
            for resource in page.get("items", []):
                for method, doc in (resource.get("resourceMethods") or {}).items():
                    integration = doc.get("methodIntegration") or self._integration(api["id"], resource["id"], method)
                    routes.append(
                        Route(
                            api_id=api["id"],
                            api_name=api.get("name", api["id"]),
                            resource_path=resource["path"],
                            http_method=method,
                            integration_type=integration.get("type"),
                            integration_uri=integration.get("uri"),
                            resource_id=resource["id"],
                            stages=stages,
                            binary_media_types=tuple(api.get("binaryMediaTypes") or ()),
                            authorization_type=str(doc.get("authorizationType") or "NONE"),
                        )
                    )
        return routes

    def _integration(self, api_id: str, resource_id: str, method: str) -> dict[str, Any]:
        try:
            result = self._apigateway.get_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method)
        except ClientError:
            logger.warning("API %s resource %s %s has no integration", api_id, resource_id, method)
            return {}
        return dict(result)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Route one HTTP request to its Lambda function and translate the answer."""
        with self._lock:
            table = self._table
        match = table.resolve(request.method, request.path)
        if match is None:
            return missing_route()
        function_arn = match.route.function_arn
        if function_arn is None:
            logger.warning(
                "%s %s: integration %s is not a Lambda proxy; not supported locally",
                request.method,
                match.route.resource_path,
                match.route.integration_type,
            )
            return internal_error(500)
        identity = None
        if match.route.authorization_type == "AWS_IAM":
            identity = iam_caller(request)
            if identity is None:  # API Gateway's answer to an unsigned request on an IAM route
                return missing_route()
        request_id = str(uuid.uuid4())
        event = build_proxy_event(request, match, request_id=request_id, port=self._server.port, identity=identity)
        response = self._invoke(function_arn, event)
        return HttpResponse(response.status, response.body, (*response.headers, ("x-amzn-RequestId", request_id)))

    def _invoke(self, function_arn: str, event: dict[str, Any]) -> HttpResponse:
        try:
            result = self._lambda.invoke(
                FunctionName=function_arn, InvocationType="RequestResponse", Payload=json.dumps(event)
            )
            raw = result["Payload"].read()
        except (ClientError, BotoCoreError) as exc:
            logger.error("invoking %s failed: %s", function_arn, exc)
            return internal_error(500)
        if result.get("FunctionError"):
            logger.warning("function %s failed (%s); answering 502", function_arn, result["FunctionError"])
            return internal_error()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            return internal_error()
        return http_response_from_proxy(payload)
