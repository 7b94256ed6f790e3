"""Which AWS errors are worth retrying: throttling, timeouts, lost connections and AWS's own 5xx.

botocore's standard retry mode (``ganger.clients.CLIENT_CONFIG``) already retries these a few times
below every call; code that retries on top of it (a worker's report, an archive transaction) asks
``is_transient`` so that it never retries an error that will not go away (a missing function,
access denied, a failed condition).
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "EC2ThrottledException",
        "TransactionInProgressException",
        # A plain write to an item an ongoing transaction holds (DynamoDB's transaction conflict handling):
        # the transaction ends within milliseconds, so the same write succeeds a little later.
        "TransactionConflictException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
    }
)
# A cancelled DynamoDB transaction is transient when no item failed its condition, only throttling or
# a conflicting transaction on the same item stopped it.
TRANSIENT_CANCELLATIONS = frozenset({"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"})


def is_transient(exc: BaseException) -> bool:
    """True when the same request may succeed if sent again a little later."""
    if isinstance(exc, (HTTPClientError, ConnectionError)):
        return True
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in THROTTLING_CODES:
        return True
    if code == "TransactionCanceledException":
        reasons = {str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])}
        return bool(reasons & TRANSIENT_CANCELLATIONS) and reasons <= TRANSIENT_CANCELLATIONS | {"None"}
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return int(status or 0) >= 500 or int(status or 0) == 429
