"""The four essential Lambdas: Scheduler, Orchestrator, WorkerAssistant, Scavenger."""
