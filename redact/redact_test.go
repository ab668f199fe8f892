package redact

import (
	"strings"
	"testing"
)

const rsaBody = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\nLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvre"

func TestMasks(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{"-----BEGIN RSA PRIVATE KEY-----\n" + rsaBody + "\nAB12==\n-----END RSA PRIVATE KEY-----\nafter", "MIIEow"},
		{"key: -----BEGIN PRIVATE KEY-----\n" + rsaBody, "9z+40RQ"},
		{`"tls.key": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBQXhnrvKs5ntaXTbBn3uS2WYCLoAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\n"`, "MHcCAQEEIBkg"},
		{"-----BEGINPRIVATE KEY----- MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLR -----END PRIVATE KEY-----", "MIIEow"},
		{"    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdTFTVTFMZlZMUEhDb3pNeEgyTW80bGdPRWVQ\n", "LS0tLS1CRUdJTi"},
		{"tcp://admin:p/a@ss w0rd@10.0.0.1:2376 refused", "p/a@ss"},
		{"server: https://u:s3cr3t@api.example:6443", "s3cr3t"},
		{"HTTP_PROXY=http://ops:s3cr3t@proxy.local:3128", "s3cr3t"},
		{"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "wJalrX"},
		{"API_KEY=abc!$%;?def x", "abc!$%"},
		{`Environment="GITHUB_TOKEN=ghp a b c"`, "ghp a b"},
		{"DB_PASSWORD='hun ter2'", "hun ter2"},
		{"dockerd --password hunter2x", "hunter2x"},
		{"login --password=hunter2x", "hunter2x"},
		{"Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"},
		{"Authorization: Bearer abc.def-ghi", "abc.def-ghi"},
		{"sent Bearer abcdefghijklmnop", "abcdefghijklmnop"},
		{"jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "eyJzdWIiOiJ4In0"},
		{`{"auths":{"reg.io":{"auth":"dXNlcjpwYXNz"}}}`, "dXNlcjpwYXNz"},
		{"users:\n- name: x\n  user:\n    token: abc123secret\n", "abc123secret"},
		{`{\"password\":\"s3 cr3t\"}`, "s3 cr3t"},
		{`pAsswd= API_KEY="k?65MhP@xw8;$%z"`, "k?65MhP"},
		{"--password --token x1234567", "x1234567"},
		{"kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef", "0123456789abcdef"},
		// CI's fuzzing: a URL password that runs over an assignment must
		// not end the assignment's mask at its own last '@'.
		{"://0: DB_PASSWORD=kq;?jAU$!@w@QSux//lPz\n0", "QSux//lPz"},
	} {
		got := String(tc.in)
		if strings.Contains(got, tc.secret) {
			t.Errorf("String(%q) = %q: %q survived", tc.in, got, tc.secret)
		}
	}
}

func TestLeavesVerdictsAlone(t *testing.T) {
	for _, s := range []string{
		"secret default/x-secret: certificate CN=a.example does not cover b.example",
		"Ingress default/web: TLS secret \"web-tls\" is missing; ingress-nginx serves its fake certificate",
		"the key file holds a private key; bearer authentication failed",
		"cannot reach http://10.0.0.1:80/healthz: connection refused; mail admin@example.com",
		"docker.iptables-disabled: dockerd runs with --iptables=false",
		"password authentication is off",
		"--password-stdin --username x",
		"log-opts: (from flag: map[max-size:10m], from file: map[max-size:100m])",
		"/var/lib/docker/overlay2/3f1c0e4c1b0ad2b0f1e7cbd2aa33d4b3a1d58c1b0c7f0d3c2e1a9b8c7d6e5f4a/diff",
	} {
		if got := String(s); got != s {
			t.Errorf("String(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestEscape(t *testing.T) {
	in := "label \x1b]0;pwned\x07\x1b[2J ok\u202e\u2028\xff\u009b\x7f\nline\ttab"
	got := Escape(in)
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u2028", "\u009b", "\x7f"} {
		if strings.Contains(got, bad) {
			t.Errorf("Escape left %q in %q", bad, got)
		}
	}
	for _, vis := range []string{`\x1b]0;pwned\x07`, `\u202e`, `\u2028`, `\xff`, `\u009b`, `\x7f`, "\nline\ttab"} {
		if !strings.Contains(got, vis) {
			t.Errorf("Escape(%q) = %q, lacks %q", in, got, vis)
		}
	}
	if s := "plain ✓ text\n"; Escape(s) != s {
		t.Error("plain text changed")
	}
}

func TestCopyLeavesOriginal(t *testing.T) {
	type inner struct{ S string }
	type v struct {
		A  string
		P  *inner
		M  map[string]string
		L  []inner
		B  []byte
		I  any
		un string
	}
	orig := v{A: "API_KEY=abcdefgh1", P: &inner{"API_KEY=abcdefgh2"}, M: map[string]string{"k": "API_KEY=abcdefgh3"},
		L: []inner{{"API_KEY=abcdefgh4"}}, B: []byte("API_KEY=x"), I: inner{"API_KEY=abcdefgh5"}, un: "API_KEY=abcdefgh6"}
	got := Report(orig)
	if got.A != "API_KEY=[redacted]" || got.P.S != "API_KEY=[redacted]" || got.M["k"] != "API_KEY=[redacted]" ||
		got.L[0].S != "API_KEY=[redacted]" || got.I.(inner).S != "API_KEY=[redacted]" {
		t.Errorf("not masked: %+v", got)
	}
	if orig.P.S != "API_KEY=abcdefgh2" || orig.M["k"] != "API_KEY=abcdefgh3" || orig.L[0].S != "API_KEY=abcdefgh4" {
		t.Errorf("original changed: %+v", orig)
	}
	if string(got.B) != "API_KEY=x" || got.un != orig.un {
		t.Error("bytes or unexported fields changed")
	}
}

func TestKeyDataNotEndingALineEnds(t *testing.T) {
	// A run that decodes to key data but is followed by prose on the line.
	s := "x LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2Z0lCQURBTkJna3Foa2lHOXcw tail"
	done := make(chan string, 1)
	go func() { done <- String(s) }()
	got := <-done
	if strings.Contains(got, "CRUdJTi") {
		t.Errorf("got %q", got)
	}
}

func TestNamedValuesMasked(t *testing.T) {
	type env struct{ Name, Value string }
	type v struct {
		Env    []env
		Labels map[string]string
	}
	got := Report(v{Env: []env{{"API_KEY", "ak-123"}, {"HTTP_PROXY", "http://p:8080"}}, Labels: map[string]string{"db_password": "x1", "team": "infra"}})
	if got.Env[0].Value != Mask || got.Env[1].Value != "http://p:8080" || got.Labels["db_password"] != Mask || got.Labels["team"] != "infra" {
		t.Errorf("got %+v", got)
	}
}
