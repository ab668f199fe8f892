package gather

import "testing"

func TestValidateProbeTarget(t *testing.T) {
	for _, ok := range []string{"10.0.0.1:80", "[fd00::1]:443", "example.com:8080", "node-1.cluster.local.:80"} {
		if err := ValidateProbeTarget(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"-e/bin/sh:80", "-e:80", "host:-1", "host:0", "host:65536", "host:http", "host:080",
		"a b:80", "host;reboot:80", "-host:80", "host-:80", "10.0.0.1", ":80", "host:", "$(id):80"} {
		if err := ValidateProbeTarget(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
