// The Pipeline module. See DEVELOPERS.md for its place in the architecture.
