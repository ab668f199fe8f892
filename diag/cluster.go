package diag

// ClusterFacts holds what the Kubernetes API said about the cluster.
type ClusterFacts struct{}
