"""Chaos run: many tasks, faults everywhere, then the invariants that say nothing was lost or run twice.

``python -m benchmarks.chaos --tasks 10000 --json``

The whole system runs in-process (moto, the essentials, simulated workers) on a settable clock:

- API faults: a share of the DynamoDB, SQS and Lambda calls made anywhere in the process raise
  ``ThrottlingException`` / ``ProvisionedThroughputExceededException`` / ``TooManyRequestsException``
  (a ``ClientError``) or botocore's ``ReadTimeoutError``. They are raised by the outermost wrapper of
  ``BaseClient._make_api_call``, above botocore's retry handler, so botocore does *not* retry them:
  every injected fault reaches ganger's code (harsher than AWS, where standard mode retries throttles).
- Worker faults: a share of worker runs crash before reporting, time out (run until Lambda's timeout
  and never report), report twice, or report late (after the task expired); a few report failure.
- Two Orchestrators and two Scavengers run at once, deterministically interleaved: the second runs
  between the first's read of the queue and its claim, so both act on the same stale read.
- The clock moves 20 s per step and sometimes jumps minutes ahead.
- A Scheduler run that fails is redelivered, as Lambda's async retry would, after its lease.
- Lambda's own retries of a failed asynchronous (Event) invocation are modelled on the simulated clock:
  a function error (a WorkerAssistant that raises, a worker that crashes, times out or raises because
  its report failed, a rule-triggered Orchestrator or Scavenger run that fails) is retried 1 and then
  2 minutes later, up to the function's ``MaximumRetryAttempts``; after that the event goes to the
  function's on-failure destination (counted, and for a report: lost). The defaults are the
  templates' EventInvokeConfig (``--lambda-retries``).
- Workers report through ganger's own ``Worker`` (its retry with backoff within the remaining time), and
  mark each attempt's start through it first (the labourers have ``marks_start``): an attempt whose Invoke
  timed out, or that expired, with no worker started is given back instead of counted.

Then, once quiet, the invariants: every task is in the closed table exactly once, completed or dead;
no task completed twice; no attempt of a task ran while another attempt of it was running; no task
used more than ``max_attempts``; never more workers of a labourer running at once than its cap;
nothing is left in the task or retry tables or in any queue; no attempt was consumed without a worker
run (a task's ``attempts`` is the number of attempts a worker ran); and every stat an essential
counted equals the table moves it counts (its successful writes and invokes, observed outside the
fault layer, so what the essential saw succeed).
"""

DESCRIPTION = (__doc__ or "").splitlines()[0]
