// Shared test helpers: a throwaway PostgreSQL cluster, loopback servers, process runners.

// The tests start programs through the product's one child-process helper (`ChildProcess`).
@_exported import ChildProcesses
