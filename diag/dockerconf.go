package diag

// DockerConfFacts holds dockerd's effective configuration with the provenance of each option.
type DockerConfFacts struct{}
