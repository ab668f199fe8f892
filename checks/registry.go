package checks

import "github.com/ksdoctor/ksdoctor/diag"

// All returns every check, in the order sweeps run and list them.
func All() []diag.Check {
	return []diag.Check{
		DockerDaemonUnreachable,
		DiskDockerRootUsage,
		DockerExitedContainers,
		DockerIPTablesDisabled,
		NetDocker0MasqueradeMissing,
		NetIPForwardDisabled,
		NetBridgeNFCallIPTables,
		NetForwardPolicyDrop,
		NetDocker0CIDROverlap,
		NetDocker0VsPodRouting,
		NetIPTablesBackendMismatch,
		DockerConfigUnparseable,
		DockerConfigConflict,
		DockerOptionsDrift,
		DockerBaselineDrift,
		DockerLogRotationMissing,
		DockerEffectiveConfig,
		K8sNodeConditions,
		K8sEvictedPods,
		K8sCrashLoopPods,
		K8sIngressTLS,
		DevopsJenkinsCascStale,
	}
}

// ByID returns the check with the given ID.
func ByID(id string) (diag.Check, bool) {
	for _, c := range All() {
		if c.ID == id {
			return c, true
		}
	}
	return diag.Check{}, false
}
