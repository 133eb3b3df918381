// The Postgres module. See DEVELOPERS.md for its place in the architecture.
