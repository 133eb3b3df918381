// Shared test helpers: a throwaway PostgreSQL cluster, loopback servers, process runners.
