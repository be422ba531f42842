"""Reading topology files: YAML and JSON text -> validated `Topology`."""
