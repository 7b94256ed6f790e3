"""Teach moto's CloudFormation ``AWS::Lambda::EventInvokeConfig``, which the templates use.

moto stores a function's event invoke config (``PutFunctionEventInvokeConfig``) but its CloudFormation
does not know the resource type: it would skip it with a warning. With this model a stack deployed
into the embedded AWS gets the same ``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds`` and
destinations as on AWS, and the local Lambda endpoint's async retries read them from there.
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.awslambda.exceptions import UnknownEventConfig, UnknownFunctionException
from moto.awslambda.models import lambda_backends
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

_CONFIG_KEYS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


class EventInvokeConfigResource(CloudFormationModel):
    """One function's EventInvokeConfig, created, updated and deleted with its stack."""

    def __init__(self, function_name: str, qualifier: str) -> None:
        self.function_name = function_name
        self.qualifier = qualifier

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function_name}:{self.qualifier}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EventInvokeConfigResource:
        properties = cloudformation_json["Properties"]
        function_name = str(properties["FunctionName"]).split(":function:")[-1].split(":")[0]
        config = {key: _typed(key, properties[key]) for key in _CONFIG_KEYS if key in properties}
        lambda_backends[account_id][region_name].put_function_event_invoke_config(function_name, config)
        return cls(function_name, str(properties.get("Qualifier", "$LATEST")))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EventInvokeConfigResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EventInvokeConfigResource:
        with contextlib.suppress(UnknownEventConfig, UnknownFunctionException):
            lambda_backends[account_id][region_name].delete_function_event_invoke_config(
                original_resource.function_name
            )
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        function_name = str(cloudformation_json["Properties"]["FunctionName"]).split(":function:")[-1]
        with contextlib.suppress(UnknownEventConfig, UnknownFunctionException):  # the function went first
            lambda_backends[account_id][region_name].delete_function_event_invoke_config(function_name.split(":")[0])


def _typed(key: str, value: Any) -> Any:
    """CloudFormation hands moto numbers as strings after parameter substitution."""
    return int(value) if key != "DestinationConfig" else value


def install() -> None:
    """Make the model visible to moto's CloudFormation (its type map is cached on first use)."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


install()
