package checks

import (
	"cmp"
	"crypto/x509"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/diag"
)

// ---------------------------------------------------------------------------
// k8s.ingress-tls

// K8sIngressTLS reports Ingress hosts served a wrong, expired or default
// certificate.
var K8sIngressTLS = diag.Check{
	ID:    "k8s.ingress-tls",
	Title: "Ingress TLS certificates that do not fit their hosts",
	Doc: `For every TLS host of every networking.k8s.io/v1 Ingress (every rule host
when a TLS entry lists no hosts), works out which certificate ingress-nginx
serves, as it does: Ingresses
oldest first, the oldest Ingress with a usable certificate for a host wins;
within an Ingress the secret listed for the exact host, else any listed
secret whose certificate verifies the host (crypto/x509 VerifyHostname,
wildcards included). A host whose secret is missing, not a TLS secret,
unparseable, has a key that does not match, or a certificate that does not
cover it (the seed's case: one secret listed for two hosts, covering one)
is served the controller's default "Kubernetes Ingress Controller Fake
Certificate" and is named. Expired and not-yet-valid certificates are
critical, certificates expiring within cluster.certExpiryDays (14) a
warning, and a host claimed by several Ingresses with different secrets a
warning. Only public certificate facts are gathered; private keys never
reach the snapshot or the report.`,
	Needs: []diag.Source{diag.SourceCluster},
	Run:   runIngressTLS,
}

// tlsRef is one Ingress TLS entry that may serve a host.
type tlsRef struct {
	ing    *diag.IngressFacts
	secret string // secret name in ing's namespace
	exact  bool   // the host is listed in this entry's hosts
}

// secretVerdict is what a secret means for one host.
type secretVerdict struct {
	usable bool   // ingress-nginx would serve it for the host
	why    string // why it is not usable
	leaf   *diag.CertFacts
}

func judgeSecret(c *diag.ClusterFacts, ns, name, host string) secretVerdict {
	sec := c.TLSSecrets[ns+"/"+name]
	switch {
	case sec == nil || !sec.Found:
		return secretVerdict{why: fmt.Sprintf("secret %s/%s does not exist", ns, name)}
	case sec.Error != "":
		return secretVerdict{why: fmt.Sprintf("secret %s/%s: %s", ns, name, sec.Error)}
	case sec.KeyError != "":
		return secretVerdict{why: fmt.Sprintf("secret %s/%s: %s", ns, name, sec.KeyError), leaf: sec.Leaf()}
	}
	leaf := sec.Leaf()
	if err := verifyHost(leaf, host); err != nil {
		return secretVerdict{why: fmt.Sprintf("secret %s/%s: certificate (%s) does not cover %s", ns, name, certNames(leaf), host), leaf: leaf}
	}
	return secretVerdict{usable: true, leaf: leaf}
}

// verifyHost runs crypto/x509's host verification on the recorded
// certificate. A wildcard host ("*.example.com") in a rule is covered by the
// same wildcard in the certificate.
func verifyHost(leaf *diag.CertFacts, host string) error {
	if leaf == nil {
		return fmt.Errorf("no certificate")
	}
	if strings.HasPrefix(host, "*.") {
		for _, n := range leaf.DNSNames {
			if strings.EqualFold(n, host) {
				return nil
			}
		}
		return fmt.Errorf("wildcard host %s not in the certificate", host)
	}
	cert, err := x509.ParseCertificate(leaf.DER)
	if err != nil {
		// Replayed facts without DER: fall back to the recorded names.
		return verifyNames(leaf, host)
	}
	return cert.VerifyHostname(host)
}

func verifyNames(leaf *diag.CertFacts, host string) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range leaf.DNSNames {
		n = strings.ToLower(n)
		if n == h {
			return nil
		}
		if strings.HasPrefix(n, "*.") {
			if i := strings.IndexByte(h, '.'); i > 0 && h[i:] == n[1:] {
				return nil
			}
		}
	}
	if slices.Contains(leaf.IPs, host) {
		return nil
	}
	return fmt.Errorf("%s not in %v", host, leaf.DNSNames)
}

func certNames(leaf *diag.CertFacts) string {
	if leaf == nil {
		return "none"
	}
	names := slices.Concat(leaf.DNSNames, leaf.IPs)
	if len(names) == 0 {
		return "no subject alternative names, subject " + leaf.Subject
	}
	return "names " + strings.Join(names, ", ")
}

func runIngressTLS(s *diag.Snapshot, cfg *diag.Config) ([]diag.Finding, error) {
	c, err := clusterFacts(s, diag.ClusterAreaIngresses)
	if err != nil {
		return nil, err
	}
	if reason, ok := c.Partial[diag.ClusterAreaSecrets]; ok {
		return nil, fmt.Errorf("the TLS secrets the Ingresses name could not be read: %s", reason)
	}
	// Oldest first, as ingress-nginx processes them.
	ings := make([]*diag.IngressFacts, 0, len(c.Ingresses))
	for i := range c.Ingresses {
		if len(c.Ingresses[i].TLS) > 0 {
			ings = append(ings, &c.Ingresses[i])
		}
	}
	slices.SortStableFunc(ings, func(a, b *diag.IngressFacts) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	// host → candidate entries, in ingress order; an Ingress contributes
	// its exact entry for the host, else every entry (checked by verify).
	type cand struct {
		ing  *diag.IngressFacts
		refs []tlsRef
	}
	hosts := map[string][]cand{}
	var order []string
	for _, ing := range ings {
		var hs []string
		for _, t := range ing.TLS {
			for _, h := range t.Hosts {
				if h != "" && !slices.Contains(hs, h) {
					hs = append(hs, h)
				}
			}
		}
		// A rule host not listed under any TLS entry is judged only when a
		// TLS entry names no hosts (it then applies to every rule host):
		// others are plain-HTTP hosts on purpose.
		if slices.ContainsFunc(ing.TLS, func(t diag.IngressTLS) bool { return len(t.Hosts) == 0 }) {
			for _, h := range ing.RuleHosts {
				if !slices.Contains(hs, h) {
					hs = append(hs, h)
				}
			}
		}
		for _, h := range hs {
			var refs []tlsRef
			for _, t := range ing.TLS {
				if t.SecretName != "" && slices.Contains(t.Hosts, h) {
					refs = []tlsRef{{ing: ing, secret: t.SecretName, exact: true}}
					break
				}
			}
			if refs == nil {
				for _, t := range ing.TLS {
					if t.SecretName != "" {
						refs = append(refs, tlsRef{ing: ing, secret: t.SecretName})
					}
				}
			}
			if _, ok := hosts[h]; !ok {
				order = append(order, h)
			}
			hosts[h] = append(hosts[h], cand{ing: ing, refs: refs})
		}
	}
	sort.Strings(order)
	warnBefore := s.Now().Add(time.Duration(cfg.Cluster.CertExpiryDays) * 24 * time.Hour)
	var out []diag.Finding
	for _, h := range order {
		cands := hosts[h]
		var served *secretVerdict
		var servedBy tlsRef
		var problems []string
		table := &diag.Table{Columns: []string{"INGRESS", "CREATED", "SECRET", "LISTED FOR HOST", "VERDICT"}}
		secretsSeen := map[string]bool{}
		for _, cd := range cands {
			ingName := cd.ing.Namespace + "/" + cd.ing.Name
			if len(cd.refs) == 0 {
				table.Rows = append(table.Rows, []string{ingName, cd.ing.CreatedAt.Format(time.RFC3339), "-", "no", "TLS section names no secret"})
				continue
			}
			for _, r := range cd.refs {
				secretsSeen[cd.ing.Namespace+"/"+r.secret] = true
				v := judgeSecret(c, cd.ing.Namespace, r.secret, h)
				verdict := "covers the host"
				switch {
				case served != nil && v.usable:
					verdict = "covers the host, ignored: an older Ingress wins"
				case served != nil:
					verdict = "ignored: an older Ingress wins; " + v.why
				case v.usable:
					verdict = "covers the host: served"
					served, servedBy = &v, r
				default:
					verdict = v.why
					if r.exact {
						problems = append(problems, fmt.Sprintf("Ingress %s lists %s for %s, but %s", ingName, r.secret, h, v.why))
					}
				}
				table.Rows = append(table.Rows, []string{ingName, cd.ing.CreatedAt.Format(time.RFC3339), r.secret, yesNo(r.exact), verdict})
			}
		}
		f := diag.Finding{ID: "k8s.ingress-tls/" + h, Evidence: []diag.Evidence{{Label: "Host", Value: h}, {Label: "Ingress TLS for this host (oldest first)", Table: table}}}
		switch {
		case served == nil:
			f.Severity = diag.Critical
			f.Title = fmt.Sprintf("%s is served the ingress controller's fake certificate", h)
			f.Summary = fmt.Sprintf("No Ingress TLS secret usable for %s: clients get the controller's default \"Kubernetes Ingress Controller Fake Certificate\" and refuse the connection.", h)
			if len(problems) == 0 {
				problems = append(problems, fmt.Sprintf("no secret listed in the Ingresses of %s has a certificate covering it", h))
			}
		default:
			leaf := served.leaf
			f.Evidence = append(f.Evidence, certEvidence(servedBy.ing.Namespace+"/"+servedBy.secret, leaf)...)
			if sec := c.TLSSecrets[servedBy.ing.Namespace+"/"+servedBy.secret]; sec != nil && sec.Type != "" && sec.Type != "kubernetes.io/tls" {
				problems = append(problems, fmt.Sprintf("secret %s/%s has type %s, not kubernetes.io/tls: tools that expect TLS secrets (cert-manager, the dashboard) will not treat it as one", sec.Namespace, sec.Name, sec.Type))
			}
			switch {
			case s.Now().After(leaf.NotAfter):
				f.Severity = diag.Critical
				f.Title = fmt.Sprintf("%s is served an expired certificate", h)
				f.Summary = fmt.Sprintf("The certificate in %s/%s for %s expired %s ago (%s).", servedBy.ing.Namespace, servedBy.secret, h, age(s.Now(), leaf.NotAfter), leaf.NotAfter.Format(time.RFC3339))
			case s.Now().Before(leaf.NotBefore):
				f.Severity = diag.Critical
				f.Title = fmt.Sprintf("%s is served a certificate that is not valid yet", h)
				f.Summary = fmt.Sprintf("The certificate in %s/%s for %s is valid only from %s.", servedBy.ing.Namespace, servedBy.secret, h, leaf.NotBefore.Format(time.RFC3339))
			case warnBefore.After(leaf.NotAfter):
				f.Severity = diag.Warning
				f.Title = fmt.Sprintf("The certificate of %s expires in %s", h, leaf.NotAfter.Sub(s.Now()).Round(time.Hour))
				f.Summary = fmt.Sprintf("The certificate in %s/%s for %s expires %s, within %d days.", servedBy.ing.Namespace, servedBy.secret, h, leaf.NotAfter.Format(time.RFC3339), cfg.Cluster.CertExpiryDays)
			case len(secretsSeen) > 1 && len(cands) > 1:
				f.Severity = diag.Warning
				f.Title = fmt.Sprintf("%s is in %d Ingresses with different TLS secrets", h, len(cands))
				f.Summary = fmt.Sprintf("ingress-nginx serves %s/%s from the oldest Ingress, %s; the other Ingresses' TLS for %s is ignored.",
					servedBy.ing.Namespace, servedBy.secret, servedBy.ing.Namespace+"/"+servedBy.ing.Name, h)
			case len(problems) > 0:
				f.Severity = diag.Warning
				f.Title = fmt.Sprintf("The TLS secret of %s has a problem", h)
				f.Summary = fmt.Sprintf("%s is served %s/%s, but: %s.", h, servedBy.ing.Namespace, servedBy.secret, problems[0])
			default:
				continue
			}
		}
		if len(problems) > 0 {
			f.Evidence = append(f.Evidence, diag.Evidence{Label: "Problems", Value: strings.Join(problems, "\n")})
		}
		f.Explanation = "ingress-nginx picks, per host, the oldest Ingress whose TLS secret exists, parses, matches its key and covers the host; " +
			"otherwise it serves its default fake certificate. Fix the secret (a certificate whose SANs include the host, e.g. from cert-manager), " +
			"or list the host under a TLS entry whose secret covers it."
		out = append(out, f)
	}
	return out, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func certEvidence(secret string, leaf *diag.CertFacts) []diag.Evidence {
	if leaf == nil {
		return nil
	}
	return []diag.Evidence{
		{Label: "Served secret", Value: secret},
		{Label: "Certificate", Value: fmt.Sprintf("subject %s; %s; issuer %s", leaf.Subject, certNames(leaf), leaf.Issuer)},
		{Label: "Valid", Value: fmt.Sprintf("%s to %s", leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))},
	}
}

